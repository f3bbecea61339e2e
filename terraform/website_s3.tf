# hosting_mode = "s3-website": the article's setup made to work on current
# accounts. The S3 website endpoint (HTTP only) serves the bucket, which is
# readable by anyone through its bucket policy, never through ACLs: ACLs stay
# disabled (website.tf) and blocked, and only the policy half of the
# bucket's Block Public Access is lifted (website_cloudfront.tf). An account-
# or organization-wide Block Public Access still wins and must be off.

resource "aws_s3_bucket_website_configuration" "site" {
  count = local.cloudfront ? 0 : 1

  bucket = aws_s3_bucket.site.id

  index_document {
    suffix = "index.html"
  }
}

data "aws_iam_policy_document" "site_public" {
  count = local.cloudfront ? 0 : 1

  statement {
    sid       = "PublicReadSite"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.site.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

# S3 applies a bucket's Block Public Access change asynchronously: a public
# policy put right after the change can still be refused with AccessDenied
# (hashicorp/terraform-provider-aws#31363), which can fail a first apply in
# this mode. Waiting once, when the change is made, lets it settle; the bucket
# policy waits for this (website.tf). Built-ins only:
# terraform_data and a local-exec `sleep` (POSIX; Windows users run make in WSL).
resource "terraform_data" "public_access_settled" {
  count = local.cloudfront ? 0 : 1

  # Replaced (so waiting again) whenever the Block Public Access settings change.
  triggers_replace = [
    aws_s3_bucket_public_access_block.site.id,
    aws_s3_bucket_public_access_block.site.block_public_policy,
    aws_s3_bucket_public_access_block.site.restrict_public_buckets,
  ]

  provisioner "local-exec" {
    command = "sleep ${local.public_access_settle_seconds}"
  }
}

locals {
  # A margin for the change to propagate (AWS documents no bound); paid once,
  # on the first apply in this mode, and again only if the settings change.
  public_access_settle_seconds = 15
}
