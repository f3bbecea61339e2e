provider "aws" {
  region = var.region

  # Every taggable resource carries these, so a stack is easy to find and
  # to cost; two stacks in one account differ by `Stack`.
  default_tags {
    tags = merge(
      {
        Project   = "awsome-chat"
        Stack     = var.name_prefix
        ManagedBy = "terraform"
      },
      var.tags,
    )
  }
}
