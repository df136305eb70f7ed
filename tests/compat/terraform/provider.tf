# The AWS provider pointed at keytrail: only endpoints, region and keys. No skip_* flags: with
# STS served, the provider validates its credentials and learns the account as against AWS.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

variable "endpoint" {
  type = string
}

provider "aws" {
  region                  = "us-east-1"
  access_key              = "AKIATERRAFORM0000001"
  secret_key              = "terraform-secret"
  skip_metadata_api_check = true

  endpoints {
    kms        = var.endpoint
    sts        = var.endpoint
    cloudtrail = var.endpoint
  }
}

data "aws_caller_identity" "current" {}

output "account_id" {
  value = data.aws_caller_identity.current.account_id
}
