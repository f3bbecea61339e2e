# hosting_mode = "cloudfront" (default): the bucket stays private with Block
# Public Access fully on; CloudFront reads it through Origin Access Control
# and serves the site over HTTPS.

resource "aws_s3_bucket_public_access_block" "site" {
  bucket = aws_s3_bucket.site.id

  # ACLs stay blocked in both modes; only s3-website mode opens the policy.
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = local.cloudfront
  restrict_public_buckets = local.cloudfront
}

resource "aws_cloudfront_origin_access_control" "site" {
  count = local.cloudfront ? 1 : 0

  name                              = "${var.name_prefix}-site"
  description                       = "awsome-chat site bucket (${var.name_prefix})"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_distribution" "site" {
  #checkov:skip=CKV_AWS_68:No WAF: a web ACL costs at least $5 a month, and the distribution serves only static files; the WebSocket API has its own throttling.
  #checkov:skip=CKV2_AWS_47:No WAF (see CKV_AWS_68), and the origin is S3 with static files, which Log4j exploits cannot reach.
  #checkov:skip=CKV_AWS_86:Standard logging needs a log bucket with ACLs enabled, which this stack keeps disabled everywhere.
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate is used (no custom domain), and with it CloudFront fixes the minimum TLS version itself.
  #checkov:skip=CKV2_AWS_42:A custom certificate needs a domain the stack does not own; the default *.cloudfront.net certificate serves HTTPS.
  #checkov:skip=CKV_AWS_310:One origin only: a failover origin group would need a second bucket kept in sync for a static site.
  #checkov:skip=CKV2_AWS_32:A response headers policy is attached: the AWS managed SecurityHeadersPolicy, referenced by its fixed id, which this graph check only recognises as a resource of the stack.
  #checkov:skip=CKV_AWS_374:A chat open to anyone has no reason to block countries.
  count = local.cloudfront ? 1 : 0

  enabled             = true
  comment             = "awsome-chat site (${var.name_prefix})"
  default_root_object = "index.html"
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  price_class         = "PriceClass_100"

  origin {
    origin_id                = "site"
    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.site[0].id
  }

  default_cache_behavior {
    target_origin_id       = "site"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    compress               = true
    # AWS managed policies, whose ids are fixed and documented:
    # Managed-CachingOptimized honours each object's Cache-Control, and
    # Managed-SecurityHeadersPolicy adds HSTS, nosniff, frame and referrer headers.
    cache_policy_id            = "658327ea-f89d-4fab-a63d-7e88639e58f6"
    response_headers_policy_id = "67f7725c-6f97-4210-82d7-5512b31e9d03"
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

# Only this distribution may read (OAC signs its requests, always over HTTPS).
data "aws_iam_policy_document" "site_cloudfront" {
  count = local.cloudfront ? 1 : 0

  statement {
    sid       = "CloudFrontReadsSite"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.site.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.site[0].arn]
    }
  }

}
