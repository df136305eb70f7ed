# Symmetric keys, an alias, a grant, a key policy managed on its own, and a secret encrypted
# and read back. (Asymmetric, multi-Region and external keys join here as keytrail serves them.)

resource "aws_kms_key" "main" {
  description             = "terraform compat"
  deletion_window_in_days = 7
  enable_key_rotation     = true
  rotation_period_in_days = 180
  tags = {
    team = "terraform"
  }
}

resource "aws_kms_alias" "main" {
  name          = "alias/terraform-compat"
  target_key_id = aws_kms_key.main.key_id
}

resource "aws_kms_grant" "app" {
  name              = "terraform-compat"
  key_id            = aws_kms_key.main.key_id
  grantee_principal = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/app"
  operations        = ["Encrypt", "Decrypt", "GenerateDataKey"]
  constraints {
    encryption_context_equals = {
      app = "terraform"
    }
  }
}

resource "aws_kms_key" "with_policy" {
  description             = "its policy is managed by aws_kms_key_policy"
  deletion_window_in_days = 7
}

resource "aws_kms_key_policy" "with_policy" {
  key_id = aws_kms_key.with_policy.id
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "terraform-compat"
    Statement = [
      {
        Sid       = "owner"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "app"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/app" }
        Action    = ["kms:Encrypt", "kms:Decrypt"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_ciphertext" "secret" {
  key_id    = aws_kms_alias.main.name
  plaintext = "terraform compat secret"
  context = {
    app = "terraform"
  }
}

data "aws_kms_secrets" "secret" {
  secret {
    name    = "db"
    payload = aws_kms_ciphertext.secret.ciphertext_blob
    context = {
      app = "terraform"
    }
  }
}

output "secret" {
  value     = data.aws_kms_secrets.secret.plaintext["db"]
  sensitive = true
}
