# The site's files, shared by both hosting modes (website_cloudfront.tf and
# website_s3.tf): one bucket, every file of frontend/ uploaded with its
# content type, templates (*.tpl) rendered and published without the suffix
# (docs/internals.md, "Site templates").

locals {
  cloudfront = var.hosting_mode == "cloudfront"

  site_files     = fileset(local.site_dir, "**")
  site_templates = { for f in local.site_files : trimsuffix(f, ".tpl") => f if endswith(f, ".tpl") }
  site_static    = { for f in local.site_files : f => f if !endswith(f, ".tpl") }

  template_vars = {
    websocket_url     = local.websocket_url
    websocket_origin  = local.websocket_origin
    max_message_chars = var.max_message_chars
    # Sign-in (auth.tf): empty strings when auth = "none".
    auth_mode      = var.auth
    auth_endpoint  = local.auth_endpoint
    auth_client_id = local.auth_enabled ? local.auth_audience : ""
    auth_sign_up   = tostring(local.cognito && var.cognito_self_sign_up)
    auth_origin    = local.auth_origin
    auth_issuer    = local.auth_enabled ? local.auth_issuer : ""
    # oidc only: the issuer's endpoints ("" = discovery) and whether to ask for a refresh token.
    auth_authorization_endpoint = local.oidc_authorization_endpoint
    auth_token_endpoint         = local.oidc_token_endpoint
    auth_offline_access         = tostring(local.oidc && var.oidc_offline_access)
    # The claim the chat names users by and whether it goes untagged (auth.tf; "" when off).
    auth_name_claim  = local.auth_enabled ? local.auth_name_claim : ""
    auth_name_unique = tostring(local.auth_enabled && local.auth_name_unique)
    # Whether the open chat has a moderator secret (the page then offers its sign-in); never
    # the digest itself.
    moderation_secret = tostring(!local.auth_enabled && var.moderator_secret_sha256 != "")
  }

  content_types = {
    css         = "text/css; charset=utf-8"
    gif         = "image/gif"
    html        = "text/html; charset=utf-8"
    ico         = "image/x-icon"
    jpeg        = "image/jpeg"
    jpg         = "image/jpeg"
    js          = "text/javascript; charset=utf-8"
    json        = "application/json"
    map         = "application/json"
    mjs         = "text/javascript; charset=utf-8"
    png         = "image/png"
    svg         = "image/svg+xml"
    txt         = "text/plain; charset=utf-8"
    webmanifest = "application/manifest+json"
    webp        = "image/webp"
    woff        = "font/woff"
    woff2       = "font/woff2"
  }

  # Every file is revalidated on every load (no-cache: a 304 when unchanged),
  # so a page never runs a module from an older deploy than its index.html:
  # the modules import each other by fixed names (frontend/js), and a cached
  # copy of one next to a fresh copy of another would mix versions. Content-
  # hashed names would allow long caching but need the page's imports
  # rewritten at build time; for a page of a few small files, revalidating is
  # the simpler guarantee. CloudFront keeps a no-cache object for its policy's
  # minimum TTL (1 s with Managed-CachingOptimized), then revalidates too.
  cache_control = "no-cache"

  # The page's Content-Security-Policy, the same as its meta tag
  # (frontend/index.html.tpl), sent as a real header in CloudFront mode
  # (website_cloudfront.tf), plus what only a header can say: frame-ancestors
  # (ignored in a meta tag).
  content_security_policy = join("; ", [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    # The sign-in endpoint's origin too when auth is on (the page calls it).
    trimspace("connect-src ${local.websocket_origin} ${local.auth_origin}"),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ])

  website_origin = (
    local.cloudfront
    ? "https://${aws_cloudfront_distribution.site[0].domain_name}"
    : "http://${aws_s3_bucket_website_configuration.site[0].website_endpoint}"
  )
}

resource "aws_s3_bucket" "site" {
  #checkov:skip=CKV_AWS_18:The bucket holds only the public site; server access logs would need a second bucket (and its own logging) for no security gain. CloudFront is the access path in the default mode.
  #checkov:skip=CKV_AWS_144:Cross-region replication of a static site that Terraform re-uploads from the repository would double the storage for nothing.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) is set below: the S3 website endpoint cannot serve SSE-KMS objects, and with CloudFront it would need a key policy for the distribution.
  #checkov:skip=CKV_AWS_21:No versioning: every file is generated from the repository, so a previous site is restored by deploying its commit, and old versions would only make destroy slower.
  #checkov:skip=CKV2_AWS_61:No lifecycle rules: without versioning (CKV_AWS_21) there are no old versions to expire, and the site's few files are replaced in place.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to uploads of the site's files, so there is no event notification to configure.
  # A generated suffix makes the globally unique name; force_destroy lets
  # `make destroy` remove the bucket even if someone added a file by hand.
  bucket_prefix = "${var.name_prefix}-site-"
  force_destroy = true

  lifecycle {
    precondition {
      condition     = contains(keys(local.site_templates), "index.html") || contains(keys(local.site_static), "index.html")
      error_message = "The site directory ${local.site_dir} has no index.html or index.html.tpl; point site_dir at the frontend/ folder."
    }
    # Sign-in needs HTTPS: the S3 website endpoint serves plain http, where the
    # page's password form and its 30-day refresh token would travel and sit in
    # the clear, and where the browser withholds the Web Crypto that PKCE needs.
    precondition {
      condition     = var.auth == "none" || local.cloudfront
      error_message = "auth = \"${var.auth}\" needs hosting_mode = \"cloudfront\": the s3-website mode serves the page over plain http, where a password form and a 30-day refresh token do not belong."
    }
  }
}

# ACLs disabled: the only way in is the bucket policy (the default for new
# buckets since April 2023, set explicitly so older accounts get it too).
resource "aws_s3_bucket_ownership_controls" "site" {
  bucket = aws_s3_bucket.site.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  bucket = aws_s3_bucket.site.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_object" "site_static" {
  for_each = local.site_static

  bucket        = aws_s3_bucket.site.id
  key           = each.key
  source        = "${local.site_dir}/${each.value}"
  etag          = filemd5("${local.site_dir}/${each.value}")
  content_type  = lookup(local.content_types, lower(reverse(split(".", each.key))[0]), "application/octet-stream")
  cache_control = local.cache_control

  depends_on = [aws_s3_bucket_ownership_controls.site, aws_s3_bucket_server_side_encryption_configuration.site]
}

resource "aws_s3_object" "site_rendered" {
  for_each = local.site_templates

  bucket        = aws_s3_bucket.site.id
  key           = each.key
  content       = templatefile("${local.site_dir}/${each.value}", local.template_vars)
  etag          = md5(templatefile("${local.site_dir}/${each.value}", local.template_vars))
  content_type  = lookup(local.content_types, lower(reverse(split(".", each.key))[0]), "application/octet-stream")
  cache_control = local.cache_control

  # The entry points (index.html, config.js) are written after the modules
  # they load, so a page fetched during a deploy finds its modules already new.
  depends_on = [aws_s3_bucket_ownership_controls.site, aws_s3_bucket_server_side_encryption_configuration.site, aws_s3_object.site_static]
}

resource "aws_s3_bucket_policy" "site" {
  bucket = aws_s3_bucket.site.id
  policy = local.cloudfront ? data.aws_iam_policy_document.site_cloudfront[0].json : data.aws_iam_policy_document.site_public[0].json

  # S3 rejects a public policy while Block Public Access still forbids one,
  # and for a while after it stops forbidding it (website_s3.tf).
  depends_on = [aws_s3_bucket_public_access_block.site, terraform_data.public_access_settled]
}
