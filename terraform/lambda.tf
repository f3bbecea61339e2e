resource "aws_lambda_function" "chat" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing is a cost and a console to learn; the JSON logs carry the request and connection ids needed to follow a message.
  #checkov:skip=CKV_AWS_116:No dead-letter queue: WebSocket routes invoke synchronously, and a DLQ only receives failed asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Not in a VPC: the function reaches only DynamoDB and API Gateway's public endpoints, and a VPC would need NAT or endpoints at a fixed monthly cost.
  #checkov:skip=CKV_AWS_173:The environment holds no secret (a table name, an endpoint URL, limits); Lambda encrypts it at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and a signing step in the build; the zip is built reproducibly and its hash pinned by source_code_hash.
  function_name = local.function_name
  description   = "awsome-chat WebSocket routes (${var.name_prefix})"
  role          = aws_iam_role.lambda.arn
  runtime       = "python3.13"
  architectures = ["arm64"]
  handler       = local.lambda_handler
  memory_size   = var.lambda_memory_mb
  timeout       = var.lambda_timeout_seconds
  # -1 is "no reservation" to the provider.
  reserved_concurrent_executions = coalesce(var.lambda_reserved_concurrency, -1)

  filename = local.lambda_zip_path
  # Guarded so that `validate` and the precondition below, not a function
  # error, report a missing zip.
  source_code_hash = fileexists(local.lambda_zip_path) ? filebase64sha256(local.lambda_zip_path) : null

  environment {
    variables = {
      TABLE_NAME                     = aws_dynamodb_table.connections.name
      MESSAGES_TABLE_NAME            = aws_dynamodb_table.messages.name
      MESSAGE_RETENTION_DAYS         = tostring(var.message_retention_days)
      PRESENCE_NOTICE_MAX_MEMBERS    = tostring(var.presence_notice_max_members)
      RATE_LIMIT_MESSAGES_PER_MINUTE = tostring(var.rate_limit_messages_per_minute)
      RATE_LIMIT_MESSAGE_BURST       = tostring(var.rate_limit_message_burst)
      RATE_LIMIT_READS_PER_MINUTE    = tostring(var.rate_limit_reads_per_minute)
      RATE_LIMIT_READ_BURST          = tostring(var.rate_limit_read_burst)
      METRICS_NAMESPACE              = var.metrics_namespace
      METRICS_ENABLED                = tostring(var.metrics_enabled)
      CONNECT_RATE_LIMIT_PER_MINUTE  = tostring(var.connect_rate_limit_per_minute)
      ROOM_MAX_MEMBERS               = tostring(var.room_max_members)
      CONNECTIONS_ENDPOINT           = local.connections_endpoint
      ALLOWED_ORIGINS                = join(",", local.allowed_origins)
      MAX_MESSAGE_CHARS              = tostring(var.max_message_chars)
      FANOUT_CONCURRENCY             = tostring(var.fanout_concurrency)
      CONNECTION_TTL_SECONDS         = tostring(var.connection_ttl_seconds)
      AUTH_MODE                      = var.auth
      # Shared budgets and the refusal budget (docs/protocol.md, "Limits").
      RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE = tostring(var.rate_limit_room_messages_per_minute)
      RATE_LIMIT_ROOM_MESSAGE_BURST       = tostring(var.rate_limit_room_message_burst)
      RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE = tostring(var.rate_limit_source_frames_per_minute)
      RATE_LIMIT_SOURCE_FRAME_BURST       = tostring(var.rate_limit_source_frame_burst)
      RATE_LIMIT_REFUSALS_PER_MINUTE      = tostring(var.rate_limit_refusals_per_minute)
      RATE_LIMIT_REFUSAL_BURST            = tostring(var.rate_limit_refusal_burst)
      LIVE_CONNECTIONS_PER_ROOM           = tostring(var.live_connections_per_room)
      LIVE_CONNECTIONS_TOTAL              = tostring(var.live_connections_total)
      # Typing notices and reaction caps (docs/protocol.md, "typing", "react").
      TYPING_NOTICE_MAX_MEMBERS = tostring(var.typing_notice_max_members)
      REACTIONS_MAX_DISTINCT    = tostring(var.reactions_max_distinct)
      REACTIONS_MAX_PER_PERSON  = tostring(var.reactions_max_per_person)
      REACTIONS_MAX_TOTAL       = tostring(var.reactions_max_total)
      # Big rooms' delivery workers (terraform/delivery.tf).
      DELIVERY_QUEUE_URL       = aws_sqs_queue.delivery.url
      DELIVERY_THRESHOLD       = tostring(var.delivery_threshold)
      DELIVERY_POST_RATE       = tostring(var.delivery_post_rate)
      DELIVERY_MAX_CONCURRENCY = tostring(var.delivery_max_concurrency)
      # Moderation (docs/protocol.md, "Moderation"): the open chat's moderator secret's
      # SHA-256 (never the secret), and the word filter.
      MODERATOR_SECRET_SHA256 = var.moderator_secret_sha256
      BLOCKED_WORDS           = jsonencode(var.blocked_words)
      BLOCKED_WORDS_ACTION    = var.blocked_words_action
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.lambda.name
    application_log_level = "INFO"
    # INFO keeps the platform's START and REPORT lines (duration, memory,
    # init time): WARN would drop them.
    system_log_level = "INFO"
  }

  lifecycle {
    precondition {
      condition     = fileexists(local.lambda_zip_path)
      error_message = "The Lambda package ${local.lambda_zip_path} does not exist: run `make build` first (`make deploy` does)."
    }
  }

  # The role's permissions (logs above all) must exist before the first
  # invocation can happen.
  depends_on = [aws_iam_role_policy.lambda]
}

# Lets this API, and only this API's stage, invoke the function.
resource "aws_lambda_permission" "apigateway" {
  statement_id  = "AllowInvokeFromWebSocketApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.chat.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.chat.execution_arn}/${var.stage_name}/*"
}
