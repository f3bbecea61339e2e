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

  name                              = "${local.global_name}-site"
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
  #checkov:skip=CKV_AWS_374:A chat open to anyone has no reason to block countries.
  count = local.cloudfront ? 1 : 0

  enabled             = true
  comment             = "awsome-chat site (${var.name_prefix})"
  default_root_object = "index.html"
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  price_class         = "PriceClass_100"
  # Terraform goes on once CloudFront has accepted the distribution (its
  # domain name is known then) instead of waiting the minutes it takes to
  # reach every edge: the function's allowed origin needs only the name.
  # `make smoke` waits for the page to be served.
  wait_for_deployment = false

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
    # Managed-CachingOptimized (an AWS managed policy, whose id is fixed and
    # documented) honours each object's Cache-Control (website.tf).
    cache_policy_id = "658327ea-f89d-4fab-a63d-7e88639e58f6"
    # one(): deployment/'s emulator cannot create response headers policies,
    # and its override leaves the policy out (docs/deploy.md, "What is proven").
    response_headers_policy_id = one(aws_cloudfront_response_headers_policy.site[*].id)
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

# The security headers as real HTTP headers on every response: the page's
# CSP (website.tf) with frame-ancestors, HSTS, nosniff, no referrer, no framing.
resource "aws_cloudfront_response_headers_policy" "site" {
  #checkov:skip=CKV_AWS_259:HSTS is sent for a year with includeSubDomains; only preload is left out, because the preload list takes registrable domains that their owner submits, and the site's *.cloudfront.net name is AWS's.
  count = local.cloudfront ? 1 : 0

  name    = "${local.global_name}-security-headers"
  comment = "awsome-chat site security headers (${var.name_prefix})"

  security_headers_config {
    content_security_policy {
      content_security_policy = local.content_security_policy
      override                = true
    }

    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      override                   = true
    }

    content_type_options {
      override = true
    }

    referrer_policy {
      referrer_policy = "no-referrer"
      override        = true
    }

    frame_options {
      frame_option = "DENY"
      override     = true
    }
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
