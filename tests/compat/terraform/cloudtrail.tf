# A trail with event selectors and tags.
resource "aws_cloudtrail" "main" {
  name                          = "terraform-compat"
  s3_bucket_name                = "terraform-compat-logs"
  s3_key_prefix                 = "audit"
  include_global_service_events = true
  enable_logging                = true

  event_selector {
    read_write_type                  = "WriteOnly"
    include_management_events        = true
    exclude_management_event_sources = []
  }

  tags = {
    team = "terraform"
  }
}
