resource "aws_apigatewayv2_api" "chat" {
  name                       = local.api_name
  protocol_type              = "WEBSOCKET"
  route_selection_expression = "$request.body.action"
  description                = "awsome-chat WebSocket API (${var.name_prefix})"
}

# One Lambda proxy integration serves every route; the handler dispatches on
# requestContext.routeKey.
resource "aws_apigatewayv2_integration" "lambda" {
  api_id             = aws_apigatewayv2_api.chat.id
  integration_type   = "AWS_PROXY"
  integration_method = "POST"
  integration_uri    = aws_lambda_function.chat.invoke_arn
}

resource "aws_apigatewayv2_route" "chat" {
  #checkov:skip=CKV_AWS_309:A WebSocket API takes an authorizer on $connect only, and every other route runs on a connection $connect admitted. With auth on (var.auth) $connect has the Lambda authorizer; with auth = "none", the default, the chat is open by design and the Lambda enforces the origin allowlist.
  for_each = local.route_keys

  api_id    = aws_apigatewayv2_api.chat.id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.lambda.id}"

  # With sign-in, the authorizer (auth.tf) guards $connect; API Gateway accepts
  # an authorizer on no other route of a WebSocket API.
  authorization_type = local.auth_enabled && each.value == "$connect" ? "CUSTOM" : "NONE"
  authorizer_id      = local.auth_enabled && each.value == "$connect" ? aws_apigatewayv2_authorizer.connect[0].id : null
}

# auto_deploy creates a new deployment whenever a route or integration
# changes, so there is no aws_apigatewayv2_deployment to keep in step. The
# stage waits for the routes so that its first deployment already has them.
resource "aws_apigatewayv2_stage" "chat" {
  #checkov:skip=CKV2_AWS_51:Browsers connect from anywhere, so there is no client certificate to demand; API Gateway's client certificates authenticate it to HTTP backends, and the Lambda proxy integration has none.
  api_id      = aws_apigatewayv2_api.chat.id
  name        = var.stage_name
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  # Limits are per route (each route gets the default on its own); messages,
  # which fan out, get less than the others (variables.tf).
  route_settings {
    route_key              = "sendmessage"
    throttling_burst_limit = var.sendmessage_throttling_burst_limit
    throttling_rate_limit  = var.sendmessage_throttling_rate_limit
  }

  dynamic "access_log_settings" {
    for_each = var.enable_access_logging ? [1] : []
    content {
      destination_arn = aws_cloudwatch_log_group.access[0].arn
      # Context variables only: no request header ($context has none of them),
      # so never the Sec-WebSocket-Protocol header that carries a sign-in token.
      format = jsonencode({
        requestId    = "$context.requestId"
        connectionId = "$context.connectionId"
        routeKey     = "$context.routeKey"
        eventType    = "$context.eventType"
        status       = "$context.status"
        requestTime  = "$context.requestTime"
        sourceIp     = "$context.identity.sourceIp"
        error        = "$context.error.message"
        integration  = "$context.integration.error"
      })
    }
  }

  lifecycle {
    precondition {
      condition     = var.sendmessage_throttling_burst_limit < var.throttling_burst_limit && var.sendmessage_throttling_rate_limit < var.throttling_rate_limit
      error_message = "sendmessage_throttling_burst_limit and sendmessage_throttling_rate_limit must be below throttling_burst_limit and throttling_rate_limit: the route that fans out gets the lowest limits."
    }
  }

  depends_on = [aws_apigatewayv2_route.chat]
}
