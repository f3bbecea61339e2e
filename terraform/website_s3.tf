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
