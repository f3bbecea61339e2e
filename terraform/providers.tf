provider "aws" {
  region = var.region

  # Every taggable resource carries these, so a stack is easy to find and
  # to cost; two stacks in one account differ by `Stack`. The stack's own
  # tags come last so that var.tags cannot overwrite them.
  default_tags {
    tags = merge(var.tags, local.stack_tags)
  }
}
