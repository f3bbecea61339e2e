output "website_url" {
  description = "Open this in a browser to chat."
  value       = "${local.website_origin}/"
}

output "websocket_url" {
  description = "The WebSocket URL clients connect to (the site's config.js holds it)."
  value       = local.websocket_url
}

output "connections_endpoint" {
  description = "Base URL of the API Gateway management API (@connections), as given to the Lambda."
  value       = local.connections_endpoint
}

output "table_name" {
  description = "The DynamoDB connections table."
  value       = aws_dynamodb_table.connections.name
}

output "messages_table_name" {
  description = "The DynamoDB messages table (the rooms' history)."
  value       = aws_dynamodb_table.messages.name
}

output "function_name" {
  description = "The Lambda function serving every route."
  value       = aws_lambda_function.chat.function_name
}

output "site_bucket" {
  description = "The S3 bucket holding the website files."
  value       = aws_s3_bucket.site.id
}

output "api_id" {
  description = "The WebSocket API's id."
  value       = aws_apigatewayv2_api.chat.id
}

output "dashboard_url" {
  description = "The CloudWatch dashboard to open first."
  value       = "https://${var.region}.console.aws.amazon.com/cloudwatch/home?region=${var.region}#dashboards:name=${aws_cloudwatch_dashboard.chat.dashboard_name}"
}

output "alarm_topic_arn" {
  description = "The SNS topic alarms notify; subscribe more endpoints to it."
  value       = aws_sns_topic.alarms.arn
}

output "region" {
  description = "The region the stack is in (`make smoke` signs its AWS calls for it)."
  value       = var.region
}

output "user_pool_id" {
  description = "With auth = \"cognito\": the Cognito user pool's id (create users with `aws cognito-idp admin-create-user --user-pool-id ...`); null otherwise."
  value       = one(aws_cognito_user_pool.users[*].id)
}

output "user_pool_client_id" {
  description = "With auth = \"cognito\": the page's app client id (the ID tokens' audience); null otherwise."
  value       = one(aws_cognito_user_pool_client.page[*].id)
}

output "authorizer_function_name" {
  description = "With sign-in on: the Lambda authorizer guarding $connect; null with auth = \"none\"."
  value       = one(aws_lambda_function.authorizer[*].function_name)
}

output "oidc_redirect_uri" {
  description = "With auth = \"oidc\": the redirect URI (and post-logout redirect URI) to register for the page's client at the issuer: the page's own address. null otherwise."
  value       = var.auth == "oidc" ? "${local.website_origin}/" : null
}

output "auth_name_claim" {
  description = "With sign-in on: the ID token claim users are named by (the authorizer's AUTH_NAME_CLAIM; `make smoke` predicts the chat's names with it); null otherwise."
  value       = local.auth_enabled ? local.auth_name_claim : null
}

output "auth_name_unique" {
  description = "With sign-in on: whether the issuer makes that claim unique, so plain names are shown without a tag (AUTH_NAME_UNIQUE); null otherwise."
  value       = local.auth_enabled ? local.auth_name_unique : null
}
