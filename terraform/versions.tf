terraform {
  # 1.5 is the oldest release with everything used here (`check` blocks,
  # the functions in variable validations).
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 is the release this configuration is validated with (the
      # round trip and checkov run on it); 6.x changes resource schemas and is
      # excluded until it has been tried (docs/deploy.md, "Provider versions").
      version = ">= 5.100, < 6.0"
    }
  }
}
