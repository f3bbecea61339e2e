data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = local.role_name
  description        = "Execution role of ${local.function_name}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

# Least privilege, one resource per statement; the actions are the calls the
# backend makes (locals.tf), which tests/terraform derives from its code.
data "aws_iam_policy_document" "lambda" {
  # The delivery queue (terraform/delivery.tf): the sending invocation sends
  # jobs (SendMessageBatch is authorised by sqs:SendMessage); the event source
  # mapping receives and deletes them with this role.
  statement {
    sid       = "SendDeliveryJobs"
    actions   = local.delivery_send_actions
    resources = [aws_sqs_queue.delivery.arn]
  }

  statement {
    sid       = "ReceiveDeliveryJobs"
    actions   = local.delivery_receive_actions
    resources = [aws_sqs_queue.delivery.arn]
  }

  statement {
    sid     = "WriteOwnLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # The group's ARN plus ":*" covers its streams, as AWS's own Lambda policies write it.
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  statement {
    sid       = "ConnectionsTable"
    actions   = local.dynamodb_table_actions
    resources = [aws_dynamodb_table.connections.arn]
  }

  statement {
    sid       = "ConnectionsRoomIndex"
    actions   = local.dynamodb_index_actions
    resources = ["${aws_dynamodb_table.connections.arn}/index/${local.room_index}"]
  }

  statement {
    sid       = "MessagesTable"
    actions   = local.messages_table_actions
    resources = [aws_dynamodb_table.messages.arn]
  }

  statement {
    sid       = "MessagesChangesIndex"
    actions   = local.messages_index_actions
    resources = ["${aws_dynamodb_table.messages.arn}/index/${local.changes_index}"]
  }

  # arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/@connections/{connection-id}
  # (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html)
  statement {
    sid     = "ManageConnections"
    actions = ["execute-api:ManageConnections"]
    resources = [
      for method in local.management_api_methods :
      "${aws_apigatewayv2_api.chat.execution_arn}/${var.stage_name}/${method}/@connections/*"
    ]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "${var.name_prefix}-lambda"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}
