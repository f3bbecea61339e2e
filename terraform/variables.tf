variable "region" {
  description = "AWS region for every resource (CloudFront is global but is managed from here)."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2,4}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region code such as \"eu-west-1\"."
  }

  # The China and GovCloud partitions have their own CloudFront, console
  # and service principals, none of which this stack has been tried with.
  validation {
    condition     = !startswith(var.region, "cn-") && !startswith(var.region, "us-gov-")
    error_message = "region must be in the standard AWS partition: the China (cn-*) and GovCloud (us-gov-*) regions are not supported by this configuration."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name; give each stack in an account its own (e.g. \"chat-dev\", \"chat-prod\")."
  type        = string
  default     = "awsome-chat"

  # Lower case, digits and hyphens so the same string is valid for S3 buckets,
  # IAM roles, Lambda functions and DynamoDB tables; 24 characters leave room
  # for the longest suffix within S3's 37-character bucket_prefix limit.
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3 to 24 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'."
  }

  # The site bucket's name starts with the prefix, and S3 refuses bucket
  # names that start with these reserved prefixes
  # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
  validation {
    condition     = !anytrue([for reserved in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(var.name_prefix, reserved)])
    error_message = "name_prefix must not start with xn--, sthree- or amzn-s3-demo-: S3 reserves those bucket name prefixes."
  }
}

variable "stage_name" {
  description = "Name of the WebSocket API stage; it is the last path segment of the WebSocket URL."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-'."
  }
}

variable "log_retention_days" {
  description = "How long CloudWatch keeps the Lambda's (and, if enabled, the stage's access) logs, in days."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of the Lambda function in MB. CPU and network scale with it, and a broadcast is a burst of parallel HTTPS posts."
  type        = number
  default     = 512

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "lambda_memory_mb must be a whole number from 128 to 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Lambda timeout in seconds. A broadcast to a large room needs more than the 3-second default; API Gateway stops waiting for a route's response after 29 seconds."
  type        = number
  default     = 29

  validation {
    condition     = var.lambda_timeout_seconds >= 3 && var.lambda_timeout_seconds <= 900 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "lambda_timeout_seconds must be a whole number from 3 to 900."
  }
}

variable "throttling_burst_limit" {
  description = "Default route throttling of the WebSocket stage: burst size (requests), for each route on its own."
  type        = number
  default     = 500

  # 0 would refuse every request of every route, $connect included.
  validation {
    condition     = var.throttling_burst_limit >= 1 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a whole number, 1 or more."
  }
}

variable "throttling_rate_limit" {
  description = "Default route throttling of the WebSocket stage: steady rate (requests per second), for each route on its own."
  type        = number
  default     = 1000

  validation {
    condition     = var.throttling_rate_limit > 0
    error_message = "throttling_rate_limit must be more than 0."
  }
}

# The sendmessage route's own limits, below the stage's default route limits.
# Route throttles are per route: the stage's default applies to each route on
# its own, not to a pool the routes share. What the routes (and every API of
# the account in the region) do share is the account's regional limit, so the
# route that fans out, and costs the most, gets the lowest. (Cross-variable
# validation needs Terraform 1.9; the stage checks "below the stage's" as a
# precondition.)
variable "sendmessage_throttling_burst_limit" {
  description = "Throttling of the sendmessage route: burst size (requests); below throttling_burst_limit."
  type        = number
  default     = 250

  validation {
    condition     = var.sendmessage_throttling_burst_limit >= 1 && floor(var.sendmessage_throttling_burst_limit) == var.sendmessage_throttling_burst_limit
    error_message = "sendmessage_throttling_burst_limit must be a whole number, 1 or more."
  }
}

variable "sendmessage_throttling_rate_limit" {
  description = "Throttling of the sendmessage route: steady rate (requests per second); below throttling_rate_limit."
  type        = number
  default     = 500

  validation {
    condition     = var.sendmessage_throttling_rate_limit > 0
    error_message = "sendmessage_throttling_rate_limit must be more than 0."
  }
}

variable "hosting_mode" {
  description = "How the website is served: \"cloudfront\" (private S3 bucket behind CloudFront, HTTPS) or \"s3-website\" (public S3 static website endpoint, HTTP only)."
  type        = string
  default     = "cloudfront"

  validation {
    condition     = contains(["cloudfront", "s3-website"], var.hosting_mode)
    error_message = "hosting_mode must be \"cloudfront\" or \"s3-website\"."
  }
}

variable "allowed_origins" {
  description = "Browser origins allowed to open a WebSocket (e.g. [\"https://chat.example.com\"]). null admits browsers on this stack's own website only; [] admits every origin. It stops other sites' pages, not non-browser clients."
  type        = list(string)
  default     = null

  validation {
    condition = var.allowed_origins == null ? true : alltrue([
      for origin in var.allowed_origins : can(regex("^https?://[^/,\\s]+$", origin))
    ])
    error_message = "Each allowed origin must be a scheme and host with no path, comma or trailing slash, e.g. \"https://chat.example.com\"."
  }
}

variable "max_message_chars" {
  description = "Longest chat message, in characters (MAX_MESSAGE_CHARS)."
  type        = number
  default     = 2000

  # chat.config.MAX_MESSAGE_CHARS_LIMIT says why 8000 (a browser's one frame of
  # at most 32 KB); tests/test_shared_facts.py holds the bounds equal.
  validation {
    condition     = var.max_message_chars >= 1 && var.max_message_chars <= 8000 && floor(var.max_message_chars) == var.max_message_chars
    error_message = "max_message_chars must be a whole number from 1 to 8000."
  }
}

variable "fanout_concurrency" {
  description = "Parallel @connections posts per broadcast, and the connection pool size (FANOUT_CONCURRENCY); 128 delivers 1,000 recipients within 1 s at 512 MB (docs/performance.md)."
  type        = number
  default     = 128

  validation {
    condition     = var.fanout_concurrency >= 1 && var.fanout_concurrency <= 256 && floor(var.fanout_concurrency) == var.fanout_concurrency
    error_message = "fanout_concurrency must be a whole number from 1 to 256."
  }
}

variable "connection_ttl_seconds" {
  description = "How long past connect a connection item lives before DynamoDB's TTL may delete it (CONNECTION_TTL_SECONDS). Must exceed API Gateway's 2-hour connection limit."
  type        = number
  default     = 10800

  validation {
    condition     = var.connection_ttl_seconds > 7200 && var.connection_ttl_seconds <= 604800 && floor(var.connection_ttl_seconds) == var.connection_ttl_seconds
    error_message = "connection_ttl_seconds must be a whole number above 7200 (API Gateway's connection limit) and at most 604800."
  }
}

variable "message_retention_days" {
  description = "How long a room keeps its messages, in days (MESSAGE_RETENTION_DAYS): reads skip older ones and DynamoDB's TTL deletes them."
  type        = number
  default     = 7

  validation {
    condition     = var.message_retention_days >= 1 && var.message_retention_days <= 3650 && floor(var.message_retention_days) == var.message_retention_days
    error_message = "message_retention_days must be a whole number from 1 to 3650."
  }
}

variable "presence_notice_max_members" {
  description = "Largest room, in members, whose members are told of each join and leave (PRESENCE_NOTICE_MAX_MEMBERS); each notice costs one post per member. 0 turns notices off."
  type        = number
  default     = 100

  validation {
    condition     = var.presence_notice_max_members >= 0 && var.presence_notice_max_members <= 10000 && floor(var.presence_notice_max_members) == var.presence_notice_max_members
    error_message = "presence_notice_max_members must be a whole number from 0 to 10000."
  }
}

variable "rate_limit_messages_per_minute" {
  description = "Messages one connection may send per minute, sustained (RATE_LIMIT_MESSAGES_PER_MINUTE); beyond, it gets rate_limited."
  type        = number
  default     = 60

  validation {
    condition     = var.rate_limit_messages_per_minute >= 1 && var.rate_limit_messages_per_minute <= 60000 && floor(var.rate_limit_messages_per_minute) == var.rate_limit_messages_per_minute
    error_message = "rate_limit_messages_per_minute must be a whole number from 1 to 60000."
  }
}

variable "rate_limit_message_burst" {
  description = "Messages one connection may send back to back before the per-minute rate applies (RATE_LIMIT_MESSAGE_BURST)."
  type        = number
  default     = 20

  validation {
    condition     = var.rate_limit_message_burst >= 1 && var.rate_limit_message_burst <= 1000 && floor(var.rate_limit_message_burst) == var.rate_limit_message_burst
    error_message = "rate_limit_message_burst must be a whole number from 1 to 1000."
  }
}

variable "rate_limit_reads_per_minute" {
  description = "history, join and members requests one connection may make per minute, sustained (RATE_LIMIT_READS_PER_MINUTE)."
  type        = number
  default     = 60

  validation {
    condition     = var.rate_limit_reads_per_minute >= 1 && var.rate_limit_reads_per_minute <= 60000 && floor(var.rate_limit_reads_per_minute) == var.rate_limit_reads_per_minute
    error_message = "rate_limit_reads_per_minute must be a whole number from 1 to 60000."
  }
}

variable "rate_limit_read_burst" {
  description = "history, join and members requests one connection may make back to back (RATE_LIMIT_READ_BURST)."
  type        = number
  default     = 20

  validation {
    condition     = var.rate_limit_read_burst >= 1 && var.rate_limit_read_burst <= 1000 && floor(var.rate_limit_read_burst) == var.rate_limit_read_burst
    error_message = "rate_limit_read_burst must be a whole number from 1 to 1000."
  }
}

variable "connect_rate_limit_per_minute" {
  description = "New connections one source address may open per minute (CONNECT_RATE_LIMIT_PER_MINUTE); beyond, $connect answers 429."
  type        = number
  default     = 60

  validation {
    condition     = var.connect_rate_limit_per_minute >= 1 && var.connect_rate_limit_per_minute <= 60000 && floor(var.connect_rate_limit_per_minute) == var.connect_rate_limit_per_minute
    error_message = "connect_rate_limit_per_minute must be a whole number from 1 to 60000."
  }
}

variable "room_max_members" {
  description = "Connections one room may hold (ROOM_MAX_MEMBERS); the next $connect is refused with 403. A broadcast to R members costs R posts. 10,000 are delivered within about 1 s at the default delivery pacing; 100,000 take about 12 s on a default account."
  type        = number
  default     = 10000

  validation {
    condition     = var.room_max_members >= 1 && var.room_max_members <= 100000 && floor(var.room_max_members) == var.room_max_members
    error_message = "room_max_members must be a whole number from 1 to 100000."
  }
}

variable "metrics_enabled" {
  description = "Publish the function's custom metrics (Embedded Metric Format on its log lines; METRICS_ENABLED)."
  type        = bool
  default     = true
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's custom metrics (METRICS_NAMESPACE)."
  type        = string
  default     = "awsome-chat"

  validation {
    condition     = can(regex("^[0-9A-Za-z.\\-_/#][0-9A-Za-z.\\-_/#:]{0,254}$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1 to 255 of A-Z a-z 0-9 . - _ / # : and not start with ':'."
  }
}

variable "alarm_email" {
  description = "E-mail address told when an alarm fires (it must confirm the subscription AWS mails it); null for none."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address or null."
  }
}

variable "alarm_failed_deliveries_threshold" {
  description = "Failed @connections posts (after retries, not counting clients that left) in 5 minutes that raise the failed-deliveries alarm."
  type        = number
  default     = 10

  validation {
    condition     = var.alarm_failed_deliveries_threshold >= 1 && floor(var.alarm_failed_deliveries_threshold) == var.alarm_failed_deliveries_threshold
    error_message = "alarm_failed_deliveries_threshold must be a whole number of at least 1."
  }
}

variable "alarm_server_errors_threshold" {
  description = "Server-side failures of the chat function (unexpected errors answered internal_error, 5xx answers, messages not stored) in 5 minutes that raise the server-errors alarm."
  type        = number
  default     = 1

  validation {
    condition     = var.alarm_server_errors_threshold >= 1 && floor(var.alarm_server_errors_threshold) == var.alarm_server_errors_threshold
    error_message = "alarm_server_errors_threshold must be a whole number of at least 1."
  }
}

variable "connections_point_in_time_recovery" {
  description = "Keep 35 days of continuous backups of the connections table (off: it holds names and rooms that live hours, nothing worth restoring)."
  type        = bool
  default     = false
}

variable "lambda_reserved_concurrency" {
  description = "Reserve (and cap) the function's concurrency so one busy room cannot take the account's whole Lambda concurrency; null reserves nothing (new accounts have too little unreserved concurrency to reserve any)."
  type        = number
  default     = null

  validation {
    condition     = var.lambda_reserved_concurrency == null || (try(var.lambda_reserved_concurrency >= 1, false) && try(floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency, false))
    error_message = "lambda_reserved_concurrency must be null or a whole number of at least 1."
  }
}

variable "budget_alert_email" {
  description = "E-mail address an AWS Budgets alert goes to when this stack's monthly cost is forecast to pass monthly_budget_usd; null for no budget."
  type        = string
  default     = null

  validation {
    condition     = var.budget_alert_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.budget_alert_email))
    error_message = "budget_alert_email must be an e-mail address or null."
  }
}

variable "monthly_budget_usd" {
  description = "The monthly cost, in US dollars, of the resources tagged with this stack (Stack tag) that the budget alert watches."
  type        = number
  default     = 10

  validation {
    condition     = var.monthly_budget_usd > 0
    error_message = "monthly_budget_usd must be more than 0."
  }
}

variable "messages_point_in_time_recovery" {
  description = "Keep 35 days of continuous backups of the messages table (point-in-time recovery; about $0.20 per GB-month)."
  type        = bool
  default     = true
}

variable "table_deletion_protection" {
  description = "DynamoDB deletion protection on the connections table. Off by default: the table holds only live connections, and `make destroy` must be able to remove it."
  type        = bool
  default     = false
}

variable "enable_access_logging" {
  description = "Write WebSocket stage access logs to CloudWatch. Needs the account's API Gateway CloudWatch role (aws_api_gateway_account, one per region) to be set already; this stack never sets it, so it cannot overwrite another stack's."
  type        = bool
  default     = false
}

# Sign-in (auth.tf). Cross-variable checks (oidc needs an issuer and an audience) need
# Terraform 1.9 in a validation block; the authorizer checks them as a precondition instead.
variable "auth" {
  description = "Who may join: \"none\" (anyone, under any name: the open chat), \"cognito\" (users of a Cognito user pool this stack creates) or \"oidc\" (users of your own OpenID Connect issuer: oidc_issuer, oidc_audience). With sign-in, a Lambda authorizer checks the user's ID token on $connect and the chat takes the user's name from it."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "cognito", "oidc"], var.auth)
    error_message = "auth must be \"none\", \"cognito\" or \"oidc\"."
  }
}

variable "cognito_self_sign_up" {
  description = "With auth = \"cognito\": let anyone create an account from the page (Cognito mails a code to confirm the e-mail address). Off: only an administrator creates users (aws cognito-idp admin-create-user)."
  type        = bool
  default     = false
}

variable "oidc_issuer" {
  description = "With auth = \"oidc\": the issuer URL, exactly the tokens' `iss` (e.g. \"https://example.eu.auth0.com/\", \"https://accounts.google.com\")."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_issuer == null || can(regex("^https://[^\\s?#]+$", var.oidc_issuer))
    error_message = "oidc_issuer must be an https:// URL with no query or fragment, exactly as the tokens' iss claim says it."
  }
}

variable "oidc_audience" {
  description = "With auth = \"oidc\": the client id of the page at the issuer, which its ID tokens carry as `aud`."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_audience == null || try(length(trimspace(var.oidc_audience)) > 0, false)
    error_message = "oidc_audience must be the page's client id at the issuer, not empty."
  }
}

variable "oidc_jwks_url" {
  description = "With auth = \"oidc\": where the issuer's signing keys are. null finds them by OpenID Connect discovery ({issuer}/.well-known/openid-configuration)."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_jwks_url == null || can(regex("^https://[^\\s]+$", var.oidc_jwks_url))
    error_message = "oidc_jwks_url must be an https:// URL or null."
  }
}

# The page finds the issuer's endpoints by discovery unless told them here: Terraform itself
# cannot fetch the discovery document (no http provider), so it cannot fill them in.
variable "oidc_authorization_endpoint" {
  description = "With auth = \"oidc\": where the page sends the browser to sign in. null: the page reads authorization_endpoint from the issuer's discovery document ({issuer}/.well-known/openid-configuration)."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_authorization_endpoint == null || can(regex("^https://[^\\s#]+$", var.oidc_authorization_endpoint))
    error_message = "oidc_authorization_endpoint must be an https:// URL with no fragment, or null (discovery)."
  }
}

variable "oidc_token_endpoint" {
  description = "With auth = \"oidc\": where the page exchanges the sign-in code for tokens (its origin joins the CSP's connect-src). null: the page reads token_endpoint from the issuer's discovery document, and the CSP admits the issuer's origin only, so set it whenever the token endpoint is on another host than the issuer (a Cognito pool as issuer: https://{domain}.auth.{region}.amazoncognito.com/oauth2/token; the plan refuses that case without it, and the page refuses any other with a message)."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_token_endpoint == null || can(regex("^https://[^\\s?#]+$", var.oidc_token_endpoint))
    error_message = "oidc_token_endpoint must be an https:// URL with no query or fragment, or null (discovery)."
  }
}

# Who a signed-in user is shown as (issue 25: a name users write themselves let anyone
# chat as anyone). Cognito users are always named by their pool's user name.
variable "oidc_name_claim" {
  description = "With auth = \"oidc\": the ID token claim the chat shows as the user's name (e.g. \"name\", \"preferred_username\", \"nickname\"). Unless oidc_name_unique, it is shown with a short tag derived from the user's sub (\"Ada Lovelace #482913\"), so two users of the issuer never look alike in a room and a name never locks its owner out."
  type        = string
  default     = "name"

  validation {
    condition     = can(regex("^[^\\s]+$", var.oidc_name_claim))
    error_message = "oidc_name_claim must be the name of an ID token claim (no spaces), e.g. \"name\" or \"preferred_username\"."
  }
}

variable "oidc_name_unique" {
  description = "With auth = \"oidc\": true only when the issuer makes oidc_name_claim unique among its users whatever the case (\"Bob\" and \"bob\" one user) and no user can set or change it (e.g. a read-only, case-insensitive user name). Names made of A-Z, a-z and 2-9 only are then shown without a tag. false (the default) tags every name."
  type        = bool
  default     = false
}

# Cost (docs/deploy.md, "What it costs"): Lite is the tier with a free allowance that the
# page's password sign-in needs nothing beyond.
variable "cognito_user_pool_tier" {
  description = "With auth = \"cognito\": the user pool's feature plan, \"LITE\" (the cheapest: password sign-in, all this page uses), \"ESSENTIALS\" or \"PLUS\" (priced per monthly active user; see docs/deploy.md, \"What it costs\")."
  type        = string
  default     = "LITE"

  validation {
    condition     = contains(["LITE", "ESSENTIALS", "PLUS"], var.cognito_user_pool_tier)
    error_message = "cognito_user_pool_tier must be \"LITE\", \"ESSENTIALS\" or \"PLUS\"."
  }
}

variable "oidc_offline_access" {
  description = "With auth = \"oidc\": ask the issuer for the offline_access scope, so it gives the page a refresh token and a session outlives the ID token. Off: the user signs in again when the ID token expires."
  type        = bool
  default     = false
}

variable "authorizer_zip_path" {
  description = "Path of the authorizer's zip built by `make build` (used only when auth is not \"none\"). null means build/authorizer.zip in the repository."
  type        = string
  default     = null

  validation {
    condition     = var.authorizer_zip_path == null ? true : endswith(var.authorizer_zip_path, ".zip")
    error_message = "authorizer_zip_path must name a .zip file (run `make build` to create build/authorizer.zip)."
  }
}

variable "lambda_zip_path" {
  description = "Path of the Lambda zip built by `make build`. null means build/lambda.zip in the repository."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip_path == null ? true : endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must name a .zip file (run `make build` to create build/lambda.zip)."
  }
}

variable "site_dir" {
  description = "Directory of the website files. null means frontend/ in the repository."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra tags for every resource, merged into the provider's default_tags; the stack's own Project, Stack and ManagedBy tags win over these."
  type        = map(string)
  default     = {}
}

variable "rate_limit_room_messages_per_minute" {
  description = "Messages one room may carry per minute, sustained, from all its connections together (RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE); beyond, rate_limited."
  type        = number
  default     = 120

  validation {
    condition     = var.rate_limit_room_messages_per_minute >= 1 && var.rate_limit_room_messages_per_minute <= 60000 && floor(var.rate_limit_room_messages_per_minute) == var.rate_limit_room_messages_per_minute
    error_message = "rate_limit_room_messages_per_minute must be a whole number from 1 to 60000."
  }
}

variable "rate_limit_room_message_burst" {
  description = "Messages one room may carry back to back, from all its connections together (RATE_LIMIT_ROOM_MESSAGE_BURST)."
  type        = number
  default     = 30

  validation {
    condition     = var.rate_limit_room_message_burst >= 1 && var.rate_limit_room_message_burst <= 1000 && floor(var.rate_limit_room_message_burst) == var.rate_limit_room_message_burst
    error_message = "rate_limit_room_message_burst must be a whole number from 1 to 1000."
  }
}

variable "rate_limit_source_frames_per_minute" {
  description = "Frames all connections from one source address may send per minute, sustained (RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE); an office behind one NAT shares it."
  type        = number
  default     = 600

  validation {
    condition     = var.rate_limit_source_frames_per_minute >= 1 && var.rate_limit_source_frames_per_minute <= 60000 && floor(var.rate_limit_source_frames_per_minute) == var.rate_limit_source_frames_per_minute
    error_message = "rate_limit_source_frames_per_minute must be a whole number from 1 to 60000."
  }
}

variable "rate_limit_source_frame_burst" {
  description = "Frames all connections from one source address may send back to back (RATE_LIMIT_SOURCE_FRAME_BURST)."
  type        = number
  default     = 200

  validation {
    condition     = var.rate_limit_source_frame_burst >= 1 && var.rate_limit_source_frame_burst <= 1000 && floor(var.rate_limit_source_frame_burst) == var.rate_limit_source_frame_burst
    error_message = "rate_limit_source_frame_burst must be a whole number from 1 to 1000."
  }
}

variable "rate_limit_refusals_per_minute" {
  description = "Refused frames (errors, rate_limited) one connection may get per minute, sustained, before the server closes it (RATE_LIMIT_REFUSALS_PER_MINUTE)."
  type        = number
  default     = 10

  validation {
    condition     = var.rate_limit_refusals_per_minute >= 1 && var.rate_limit_refusals_per_minute <= 60000 && floor(var.rate_limit_refusals_per_minute) == var.rate_limit_refusals_per_minute
    error_message = "rate_limit_refusals_per_minute must be a whole number from 1 to 60000."
  }
}

variable "rate_limit_refusal_burst" {
  description = "Refused frames one connection may get back to back before the server closes it with DeleteConnection (RATE_LIMIT_REFUSAL_BURST)."
  type        = number
  default     = 20

  validation {
    condition     = var.rate_limit_refusal_burst >= 1 && var.rate_limit_refusal_burst <= 1000 && floor(var.rate_limit_refusal_burst) == var.rate_limit_refusal_burst
    error_message = "rate_limit_refusal_burst must be a whole number from 1 to 1000."
  }
}

variable "live_connections_per_room" {
  description = "Live connections one source address, or one signed-in user, may hold in one room (LIVE_CONNECTIONS_PER_ROOM); never more than a quarter of room_max_members (at least one). The next $connect is refused with 429."
  type        = number
  default     = 25

  validation {
    condition     = var.live_connections_per_room >= 1 && var.live_connections_per_room <= 100000 && floor(var.live_connections_per_room) == var.live_connections_per_room
    error_message = "live_connections_per_room must be a whole number from 1 to 100000."
  }
}

variable "live_connections_total" {
  description = "Live connections one source address, or one signed-in user, may hold in all rooms together (LIVE_CONNECTIONS_TOTAL); the next $connect is refused with 429. Raise it for many users behind one NAT."
  type        = number
  default     = 100

  validation {
    condition     = var.live_connections_total >= 1 && var.live_connections_total <= 100000 && floor(var.live_connections_total) == var.live_connections_total
    error_message = "live_connections_total must be a whole number from 1 to 100000."
  }
}

variable "typing_notice_max_members" {
  description = "Largest room, in connections, whose members are told who is typing (TYPING_NOTICE_MAX_MEMBERS); each notice costs one post per other connection. 0 turns typing notices off."
  type        = number
  default     = 50

  validation {
    condition     = var.typing_notice_max_members >= 0 && var.typing_notice_max_members <= 1000 && floor(var.typing_notice_max_members) == var.typing_notice_max_members
    error_message = "typing_notice_max_members must be a whole number from 0 to 1000."
  }
}

variable "reactions_max_distinct" {
  description = "Distinct emoji one message may hold (REACTIONS_MAX_DISTINCT); the next new emoji is refused with too_many_reactions."
  type        = number
  default     = 20

  validation {
    condition     = var.reactions_max_distinct >= 1 && var.reactions_max_distinct <= 100 && floor(var.reactions_max_distinct) == var.reactions_max_distinct
    error_message = "reactions_max_distinct must be a whole number from 1 to 100."
  }
}

variable "reactions_max_per_person" {
  description = "Reactions one person may put on one message (REACTIONS_MAX_PER_PERSON); the next is refused with too_many_reactions."
  type        = number
  default     = 10

  validation {
    condition     = var.reactions_max_per_person >= 1 && var.reactions_max_per_person <= 100 && floor(var.reactions_max_per_person) == var.reactions_max_per_person
    error_message = "reactions_max_per_person must be a whole number from 1 to 100."
  }
}

variable "reactions_max_total" {
  description = "Reactions one message may hold in all (REACTIONS_MAX_TOTAL); at most 2000, which keeps the message's item far under DynamoDB's 400 KB."
  type        = number
  default     = 2000

  validation {
    condition     = var.reactions_max_total >= 1 && var.reactions_max_total <= 2000 && floor(var.reactions_max_total) == var.reactions_max_total
    error_message = "reactions_max_total must be a whole number from 1 to 2000."
  }
}

# Delivery workers for big rooms (terraform/delivery.tf, docs/deploy.md).
variable "delivery_threshold" {
  description = "Rooms with more members than this are delivered by queue workers (DELIVERY_THRESHOLD); smaller rooms directly from the sending invocation, which posts 1,000 recipients in about 0.8 s (docs/performance.md)."
  type        = number
  default     = 1000

  validation {
    condition     = var.delivery_threshold >= 0 && var.delivery_threshold <= 10000000 && floor(var.delivery_threshold) == var.delivery_threshold
    error_message = "delivery_threshold must be a whole number from 0 to 10000000."
  }
}

variable "delivery_post_rate" {
  description = "Posts a second all delivery workers together may make (DELIVERY_POST_RATE): a share of the account's API Gateway rate (10,000 a second by default, shared with every client frame). 8,000 (each worker starting with a burst of half a second of its rate) delivers 100,000 members in about 12.2 s and leaves 2,000 a second to the rest."
  type        = number
  default     = 8000

  validation {
    condition     = var.delivery_post_rate >= 1 && var.delivery_post_rate <= 100000 && floor(var.delivery_post_rate) == var.delivery_post_rate
    error_message = "delivery_post_rate must be a whole number from 1 to 100000."
  }
}

variable "delivery_max_concurrency" {
  description = "Most delivery workers at once (the event source mapping's maximum_concurrency, DELIVERY_MAX_CONCURRENCY); each worker posts delivery_post_rate / this a second. 8 is one worker per shard of a room."
  type        = number
  default     = 8

  validation {
    condition     = var.delivery_max_concurrency >= 2 && var.delivery_max_concurrency <= 1000 && floor(var.delivery_max_concurrency) == var.delivery_max_concurrency
    error_message = "delivery_max_concurrency must be a whole number from 2 to 1000 (the event source mapping's limits)."
  }
}

variable "delivery_max_receives" {
  description = "How many times a delivery job is tried before it goes to the dead-letter queue (the queue's maxReceiveCount)."
  type        = number
  default     = 3

  validation {
    condition     = var.delivery_max_receives >= 1 && var.delivery_max_receives <= 1000 && floor(var.delivery_max_receives) == var.delivery_max_receives
    error_message = "delivery_max_receives must be a whole number from 1 to 1000."
  }
}

variable "delivery_alarm_age_seconds" {
  description = "Alarm when the oldest delivery job has waited this long (seconds); a 100,000-member room's jobs take about 12.2 s at the default post rate."
  type        = number
  default     = 60

  validation {
    condition     = var.delivery_alarm_age_seconds >= 1 && floor(var.delivery_alarm_age_seconds) == var.delivery_alarm_age_seconds
    error_message = "delivery_alarm_age_seconds must be a whole number of at least 1."
  }
}

# --- Moderation (docs/protocol.md "Moderation", docs/deploy.md "Moderation") ------

variable "moderator_group" {
  description = "With auth = \"cognito\": the user pool group whose members moderate (created by this stack; add a user with aws cognito-idp admin-add-user-to-group)."
  type        = string
  default     = "moderators"

  validation {
    condition     = can(regex("^[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]{1,128}$", var.moderator_group))
    error_message = "moderator_group must be a Cognito group name: 1 to 128 letters, digits, marks, symbols or punctuation, no spaces."
  }
}

variable "oidc_moderator_claim" {
  description = "With auth = \"oidc\": the ID token claim that makes a user a moderator when it is oidc_moderator_value (or a list holding it), e.g. \"groups\" or \"roles\". Empty (the default): nobody moderates."
  type        = string
  default     = ""

  validation {
    condition     = length(var.oidc_moderator_claim) <= 128 && !can(regex("\\s", var.oidc_moderator_claim))
    error_message = "oidc_moderator_claim must be a claim name of at most 128 characters without spaces, or empty."
  }
}

variable "oidc_moderator_value" {
  description = "With auth = \"oidc\": the value of oidc_moderator_claim that makes a user a moderator, e.g. \"chat-moderators\"."
  type        = string
  default     = ""

  validation {
    condition     = length(var.oidc_moderator_value) <= 256
    error_message = "oidc_moderator_value must be at most 256 characters."
  }
}

variable "moderator_secret_sha256" {
  description = "With auth = \"none\": the SHA-256 (64 lowercase hex digits) of a secret that makes a connection presenting it a moderator (printf %s \"$SECRET\" | sha256sum). Never the secret itself. Empty (the default): nobody moderates the open chat."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.moderator_secret_sha256 == "" || can(regex("^[0-9a-f]{64}$", var.moderator_secret_sha256))
    error_message = "moderator_secret_sha256 must be empty or the secret's SHA-256 as 64 lowercase hex digits (printf %s \"$SECRET\" | sha256sum), never the secret itself."
  }
}

variable "blocked_words" {
  description = "The word filter (BLOCKED_WORDS): words refused or masked in messages, compared as names are (case, accents, look-alikes). At most 1,000 words of at most 64 characters, without spaces. Empty (the default): no filter."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.blocked_words) <= 1000 && alltrue([for w in var.blocked_words : length(w) >= 1 && length(w) <= 64 && !can(regex("\\s", w))])
    error_message = "blocked_words must hold at most 1000 words, each 1 to 64 characters without spaces."
  }
}

variable "blocked_words_action" {
  description = "What the word filter does with a message holding a blocked word: \"refuse\" (the sender gets message_blocked, nothing is stored) or \"mask\" (each such word is stored and sent as ***)."
  type        = string
  default     = "refuse"

  validation {
    condition     = contains(["refuse", "mask"], var.blocked_words_action)
    error_message = "blocked_words_action must be \"refuse\" or \"mask\"."
  }
}
