# Created before the function (lambda.tf depends on it), so Lambda never
# creates an unmanaged group with infinite retention on first invocation.
resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_158:Log events are encrypted by CloudWatch Logs by default; a customer managed KMS key would add cost and key administration for operational logs that hold no message text.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 14 days); a chat's operational logs need not be kept for a year.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
}

# Stage access logs, only when enabled (see var.enable_access_logging);
# encryption and retention as for the Lambda's group above.
resource "aws_cloudwatch_log_group" "access" {
  count = var.enable_access_logging ? 1 : 0

  name              = "/aws/apigateway/${local.api_name}/${var.stage_name}"
  retention_in_days = var.log_retention_days
}
