terraform {
  # 1.5 is the oldest release with everything used here (`check` blocks,
  # the functions in variable validations).
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The python3.13 runtime is rejected by 5.75 and accepted from late
      # 2024's releases on; 5.80 is a safe floor. The next major is excluded
      # until it has been tried.
      version = ">= 5.80, < 7.0"
    }
  }
}
