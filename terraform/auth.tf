# Sign-in (var.auth, docs/deploy.md "Sign-in"): with auth on, a Lambda REQUEST
# authorizer checks the user's ID token on $connect, and only then does the chat
# run. The page sends the token as the second WebSocket subprotocol
# (Sec-WebSocket-Protocol: awsome-chat, <token>): browsers cannot set other
# headers on a WebSocket, and a query string would put the token in URLs,
# which access logs, proxies and browser history keep. With auth = "cognito"
# this stack also creates the user pool and the page's app client; with
# "oidc" the issuer is yours.

locals {
  auth_enabled = var.auth != "none"
  cognito      = var.auth == "cognito"
  oidc         = var.auth == "oidc"

  authorizer_function_name = "${var.name_prefix}-authorizer"
  authorizer_handler       = "authorizer.handler.handler"
  # Verifying a signature and importing cryptography want more than the
  # 128 MB minimum's CPU; a token check is one JWKS fetch at most, bounded by
  # the authorizer's own timeouts well inside this.
  authorizer_memory_mb       = 256
  authorizer_timeout_seconds = 10
  # The only algorithm Cognito signs ID tokens with, and most OIDC issuers'
  # default; pinned so a token cannot choose its own (AUTH_ALGORITHMS).
  authorizer_algorithms = "RS256"
  # API Gateway reads the token from here; a request without the header is
  # refused with 401 before the authorizer runs.
  authorizer_identity_source = "route.request.header.Sec-WebSocket-Protocol"

  # The Cognito user pool's endpoint is "cognito-idp.{region}.{DNS suffix}/{pool id}":
  # its host is the IdP API the page signs in with, the whole is the tokens' issuer.
  cognito_host = local.cognito ? split("/", aws_cognito_user_pool.users[0].endpoint)[0] : null
  auth_issuer = (
    local.cognito ? "https://${aws_cognito_user_pool.users[0].endpoint}"
    : var.auth == "oidc" ? var.oidc_issuer : null
  )
  auth_audience = (
    local.cognito ? aws_cognito_user_pool_client.page[0].id
    : var.auth == "oidc" ? var.oidc_audience : null
  )
  # The claim the chat shows as the user's name (AUTH_NAME_CLAIM), and whether the issuer
  # makes it unique and read-only (AUTH_NAME_UNIQUE; otherwise names get a tag from sub). A
  # Cognito user name is both; the page's client may write nothing else a name could come
  # from (write_attributes below).
  auth_name_claim  = local.cognito ? "cognito:username" : var.oidc_name_claim
  auth_name_unique = local.cognito ? true : var.oidc_name_unique
  # Who moderates (AUTH_MODERATOR_CLAIM/VALUE, docs/protocol.md "Moderation"): the pool's
  # group, listed in the ID token's cognito:groups; with oidc, a claim and value of yours
  # (empty: nobody).
  auth_moderator_claim = local.cognito ? "cognito:groups" : coalesce(var.oidc_moderator_claim, "-")
  auth_moderator_value = local.cognito ? var.moderator_group : coalesce(var.oidc_moderator_value, "-")
  # A Cognito pool used as an OIDC issuer ("https://[issuer-]cognito-idp.{region}.{suffix}/
  # {pool}") serves its token endpoint on its domain ({domain}.auth.{region}.
  # amazoncognito.com), another host the CSP only admits when oidc_token_endpoint names it.
  oidc_issuer_is_cognito = local.oidc && can(regex("^https://(issuer-)?cognito-idp\\.", coalesce(var.oidc_issuer, "-")))

  # Cognito's keys are at a fixed path; for OIDC, null lets the authorizer use discovery.
  auth_jwks_url = local.cognito ? "${local.auth_issuer}/.well-known/jwks.json" : var.oidc_jwks_url

  # What the page is told (docs/internals.md, "Site templates"); empty strings when off.
  auth_endpoint = local.cognito ? "https://${local.cognito_host}/" : ""
  # With oidc the page fetches the issuer's discovery document and calls the token endpoint
  # (space-separated origins, each once); the authorization endpoint is navigated to, which
  # connect-src does not govern.
  auth_origin = (
    local.cognito ? "https://${local.cognito_host}"
    # try(): a missing issuer is reported by the authorizer's precondition, not here.
    : local.oidc ? join(" ", distinct(compact([
      try(regex("^https://[^/]+", var.oidc_issuer), ""),
      try(regex("^https://[^/]+", var.oidc_token_endpoint), ""),
    ])))
    : ""
  )
  # "" tells the page to use discovery (docs/internals.md, "Site templates").
  oidc_authorization_endpoint = local.oidc && var.oidc_authorization_endpoint != null ? var.oidc_authorization_endpoint : ""
  oidc_token_endpoint         = local.oidc && var.oidc_token_endpoint != null ? var.oidc_token_endpoint : ""
}

# --- Cognito (auth = "cognito") --------------------------------------------------------------

resource "aws_cognito_user_pool" "users" {
  count = local.cognito ? 1 : 0

  name = "${var.name_prefix}-users"
  # Lite unless asked: the page's password sign-in needs no feature of the others
  # (docs/deploy.md, "What it costs").
  user_pool_tier = var.cognito_user_pool_tier
  # Users sign in with a user name, which becomes their display name
  # (cognito:username: unique, and no user can change it); "Alice" and "alice" are
  # one user.
  username_configuration {
    case_sensitive = false
  }

  admin_create_user_config {
    allow_admin_create_user_only = !var.cognito_self_sign_up
  }

  # A self-registered user confirms the address Cognito mails a code to, and a
  # forgotten password is reset through it.
  auto_verified_attributes = ["email"]
  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  # NIST SP 800-63B: length matters more than composition; a temporary password
  # (admin-created users) must be changed within 3 days.
  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 3
  }

  # `make destroy` must be able to remove the pool, as it removes the tables.
  deletion_protection = "INACTIVE"
}

# The moderators (docs/deploy.md, "Moderation"): a user added to this group is one from their
# next connection (aws cognito-idp admin-add-user-to-group).
resource "aws_cognito_user_group" "moderators" {
  count = local.cognito ? 1 : 0

  name         = var.moderator_group
  user_pool_id = aws_cognito_user_pool.users[0].id
  description  = "Moderators of the chat: may delete any message, mute, kick and ban."
}

# The page's client: public (a browser cannot keep a secret), signing in with a
# user name and password (USER_PASSWORD_AUTH, over TLS to Cognito) and renewing
# with the refresh token, so a reload keeps the session.
resource "aws_cognito_user_pool_client" "page" {
  count = local.cognito ? 1 : 0

  name                = "${var.name_prefix}-page"
  user_pool_id        = aws_cognito_user_pool.users[0].id
  generate_secret     = false
  explicit_auth_flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  # "Incorrect user name or password" whether or not the user exists.
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true
  # What users may write about themselves (at SignUp and with UpdateUserAttributes): their
  # e-mail address only. Left unset, every standard attribute would be theirs to write,
  # name and preferred_username included (issue 25); the page writes only email.
  write_attributes = ["email"]

  # An ID token lives an hour (the page renews it with the refresh token); a
  # session lasts 30 days without signing in again.
  id_token_validity      = 60
  access_token_validity  = 60
  refresh_token_validity = 30
  token_validity_units {
    id_token      = "minutes"
    access_token  = "minutes"
    refresh_token = "days"
  }
}

# --- the authorizer --------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "authorizer" {
  #checkov:skip=CKV_AWS_158:Log events are encrypted by CloudWatch Logs by default; a customer managed KMS key would add cost and key administration for logs that hold user ids and refusal reasons, never tokens.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 14 days), as for the chat function's logs.
  count = local.auth_enabled ? 1 : 0

  name              = "/aws/lambda/${local.authorizer_function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "authorizer" {
  count = local.auth_enabled ? 1 : 0

  name               = "${local.global_name}-authorizer"
  description        = "Execution role of ${local.authorizer_function_name}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

# The authorizer calls no AWS API: it fetches the issuer's public keys over
# HTTPS. It may write its own logs and nothing else.
data "aws_iam_policy_document" "authorizer" {
  count = local.auth_enabled ? 1 : 0

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.authorizer[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "authorizer" {
  count = local.auth_enabled ? 1 : 0

  name   = "${var.name_prefix}-authorizer"
  role   = aws_iam_role.authorizer[0].id
  policy = data.aws_iam_policy_document.authorizer[0].json
}

resource "aws_lambda_function" "authorizer" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing is a cost and a console to learn; the authorizer's JSON logs carry the request id and the reason of each refusal.
  #checkov:skip=CKV_AWS_116:No dead-letter queue: API Gateway invokes the authorizer synchronously, and a DLQ only receives failed asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Not in a VPC: the authorizer reaches only the issuer's public JWKS endpoint, and a VPC would need NAT at a fixed monthly cost.
  #checkov:skip=CKV_AWS_173:The environment holds no secret (the issuer, the audience, the public keys' URL); Lambda encrypts it at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and a signing step in the build; the zip is built reproducibly from hash-pinned wheels and its hash pinned by source_code_hash.
  #checkov:skip=CKV_AWS_115:No reserved concurrency: $connect runs it at most as often as the chat function, whose reservation (lambda_reserved_concurrency) already caps connects, and reserving here would take from the account's unreserved pool.
  count = local.auth_enabled ? 1 : 0

  function_name = local.authorizer_function_name
  description   = "awsome-chat sign-in: checks the ID token on $connect (${var.name_prefix})"
  role          = aws_iam_role.authorizer[0].arn
  runtime       = "python3.13"
  architectures = ["arm64"]
  handler       = local.authorizer_handler
  memory_size   = local.authorizer_memory_mb
  timeout       = local.authorizer_timeout_seconds

  filename         = local.authorizer_zip_path
  source_code_hash = fileexists(local.authorizer_zip_path) ? filebase64sha256(local.authorizer_zip_path) : null

  environment {
    variables = merge(
      {
        AUTH_ISSUER      = local.auth_issuer
        AUTH_AUDIENCE    = local.auth_audience
        AUTH_ALGORITHMS  = local.authorizer_algorithms
        AUTH_NAME_CLAIM  = local.auth_name_claim
        AUTH_NAME_UNIQUE = tostring(local.auth_name_unique)
      },
      local.auth_moderator_claim == "-" || local.auth_moderator_value == "-" ? {} : {
        AUTH_MODERATOR_CLAIM = local.auth_moderator_claim
        AUTH_MODERATOR_VALUE = local.auth_moderator_value
      },
      local.auth_jwks_url == null ? {} : { AUTH_JWKS_URL = local.auth_jwks_url },
    )
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.authorizer[0].name
    application_log_level = "INFO"
    system_log_level      = "INFO"
  }

  lifecycle {
    precondition {
      condition     = var.auth != "oidc" || (var.oidc_issuer != null && var.oidc_audience != null)
      error_message = "auth = \"oidc\" needs oidc_issuer (the tokens' iss) and oidc_audience (the page's client id at the issuer)."
    }
    precondition {
      condition     = !local.oidc_issuer_is_cognito || var.oidc_token_endpoint != null
      error_message = "oidc_issuer is a Cognito user pool, whose token endpoint is on its domain (https://{domain}.auth.{region}.amazoncognito.com/oauth2/token), not on the issuer's host: set oidc_token_endpoint (and oidc_authorization_endpoint) to it, so that the page's Content-Security-Policy admits it."
    }
    precondition {
      condition     = (var.oidc_moderator_claim == "") == (var.oidc_moderator_value == "")
      error_message = "oidc_moderator_claim and oidc_moderator_value go together: set both (a user whose ID token's claim is, or lists, the value moderates) or neither."
    }
    precondition {
      condition     = fileexists(local.authorizer_zip_path)
      error_message = "The authorizer package ${local.authorizer_zip_path} does not exist: run `make build` first (`make deploy` does)."
    }
  }

  depends_on = [aws_iam_role_policy.authorizer]
}

# API Gateway calls the authorizer once per $connect (WebSocket APIs cache no
# authorizer results) with the Sec-WebSocket-Protocol header as identity source.
resource "aws_apigatewayv2_authorizer" "connect" {
  count = local.auth_enabled ? 1 : 0

  api_id           = aws_apigatewayv2_api.chat.id
  name             = "${var.name_prefix}-id-token"
  authorizer_type  = "REQUEST"
  authorizer_uri   = aws_lambda_function.authorizer[0].invoke_arn
  identity_sources = [local.authorizer_identity_source]
}

# Lets this API invoke the authorizer, as that authorizer only
# (arn:aws:execute-api:{region}:{account}:{api-id}/authorizers/{authorizer-id}).
resource "aws_lambda_permission" "authorizer" {
  count = local.auth_enabled ? 1 : 0

  statement_id  = "AllowInvokeAsWebSocketAuthorizer"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.authorizer[0].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.chat.execution_arn}/authorizers/${aws_apigatewayv2_authorizer.connect[0].id}"
}
