locals {
  # Every name derives from the prefix, so two stacks coexist in one account.
  table_name          = "${var.name_prefix}-connections"
  messages_table_name = "${var.name_prefix}-messages"
  function_name       = "${var.name_prefix}-handler"
  api_name            = "${var.name_prefix}-websocket"
  # IAM roles, CloudFront's origin access controls and response headers
  # policies, and CloudWatch dashboards are global to the account: their
  # names also carry the region, so one prefix deploys to two regions.
  global_name    = "${var.name_prefix}-${var.region}"
  role_name      = "${local.global_name}-lambda"
  room_index     = "room-index"
  lambda_handler = "chat.handler.handler"

  # Defaults that depend on the module's location cannot be variable defaults.
  lambda_zip_path     = coalesce(var.lambda_zip_path, "${path.module}/../build/lambda.zip")
  authorizer_zip_path = coalesce(var.authorizer_zip_path, "${path.module}/../build/authorizer.zip")
  site_dir            = coalesce(var.site_dir, "${path.module}/../frontend")

  # The tags every resource carries (providers.tf); they win over var.tags.
  stack_tags = {
    Project   = "awsome-chat"
    Stack     = var.name_prefix
    ManagedBy = "terraform"
  }

  # URLs are built from the endpoint the API reports ({scheme}://{id}.
  # execute-api.{region}.{the partition's DNS suffix}), never from a
  # hard-coded domain; only its host is taken, the schemes are the protocols'.
  # The management API the Lambda posts replies to is that host over HTTPS
  # (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html).
  api_host             = regex("^[a-z]+://([^/]+)", aws_apigatewayv2_api.chat.api_endpoint)[0]
  websocket_origin     = "wss://${local.api_host}"
  websocket_url        = "${local.websocket_origin}/${var.stage_name}"
  connections_endpoint = "https://${local.api_host}/${var.stage_name}"

  # Browsers send their page's origin; by default only browsers on the stack's own
  # site may connect. Non-browser clients are not stopped by this (they choose their Origin).
  allowed_origins = var.allowed_origins == null ? [local.website_origin] : var.allowed_origins

  # The routes of docs/internals.md, all served by the one Lambda integration.
  route_keys = toset(["$connect", "$disconnect", "$default", "sendmessage", "history", "join", "members", "ping", "editmessage", "deletemessage", "react", "typing", "changes", "moderate", "mute", "kick", "ban"])

  # Exactly the AWS actions backend/chat/permissions.py declares (the Terraform
  # round trip holds the applied policy to that declaration, and a backend test
  # proves the declaration complete).
  # ConditionCheckItem: $connect's admission transaction checks bans and mutes.
  # BatchGetItem: a big room's seat counters and a moderator's target's name claim.
  dynamodb_table_actions = ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
  dynamodb_index_actions = ["dynamodb:Query"]
  # The delivery queue: chat.permissions' DELIVERY_SEND_ACTIONS and
  # DELIVERY_RECEIVE_ACTIONS (terraform/iam.tf's delivery policy).
  delivery_send_actions    = ["sqs:SendMessage"]
  delivery_receive_actions = ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
  # The messages table: a transaction's Put needs PutItem, the resend path
  # GetItem, history Query, edits, deletions and reactions UpdateItem; never Scan.
  messages_table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
  # Its changes index: the catch-up's Query.
  changes_index          = "changes-index"
  messages_index_actions = ["dynamodb:Query"]
  # HTTP methods of the management API calls; execute-api:ManageConnections
  # is scoped per method in the resource ARN.
  management_api_methods = ["POST", "DELETE"]
}
