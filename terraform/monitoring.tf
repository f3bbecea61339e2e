# What the person on call opens first, and what wakes them: the function's
# Embedded Metric Format metrics (backend/chat/metrics.py: namespace
# var.metrics_namespace, dimension Function), Lambda's and API Gateway's own
# metrics, alarms on what needs a human, sent to one SNS topic.

locals {
  alarm_period_seconds = 300
  emf_dimensions       = { Function = local.function_name }
  lambda_dimensions    = { FunctionName = local.function_name }

  # CloudWatch dashboard metric arrays: [namespace, name, dim, value, ..., {options}].
  emf = { for name in ["connections_opened", "connections_closed", "messages_accepted", "delivered", "pruned", "retried", "failed", "fanout_ms", "server_errors", "moderation_actions", "messages_filtered"] :
    name => [var.metrics_namespace, name, "Function", local.function_name]
  }
  api    = { for name in ["ConnectCount", "MessageCount", "IntegrationError", "ClientError", "ExecutionError"] : name => ["AWS/ApiGateway", name, "ApiId", aws_apigatewayv2_api.chat.id, "Stage", var.stage_name] }
  lambda = { for name in ["Errors", "Throttles", "Duration", "ConcurrentExecutions"] : name => ["AWS/Lambda", name, "FunctionName", local.function_name] }

  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 8, height = 6
      properties = {
        title = "Live connections (estimate: opened minus closed over the last 2 hours, the longest a connection lives)"
        view  = "singleValue", region = var.region, stat = "Sum", period = 7200, setPeriodToTimeRange = false
        metrics = [
          [{ expression = "m1 - m2", label = "live (estimate)", id = "live" }],
          concat(local.emf["connections_opened"], [{ id = "m1", visible = false }]),
          concat(local.emf["connections_closed"], [{ id = "m2", visible = false }]),
        ]
      }
    },
    {
      type = "metric", x = 8, y = 0, width = 16, height = 6
      properties = {
        title   = "Messages and deliveries per minute"
        view    = "timeSeries", region = var.region, stat = "Sum", period = 60
        metrics = [local.emf["messages_accepted"], local.emf["delivered"], local.emf["connections_opened"], local.emf["connections_closed"]]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title = "Fan-out duration (ms)"
        view  = "timeSeries", region = var.region, period = 60
        metrics = [
          concat(local.emf["fanout_ms"], [{ stat = "p50", label = "p50" }]),
          concat(local.emf["fanout_ms"], [{ stat = "p90", label = "p90" }]),
          concat(local.emf["fanout_ms"], [{ stat = "p99", label = "p99" }]),
        ]
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title   = "Delivery failures (pruned: gone, 410; retried: 429/5xx; failed: given up)"
        view    = "timeSeries", region = var.region, stat = "Sum", period = 60
        metrics = [local.emf["failed"], local.emf["retried"], local.emf["pruned"]]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title = "Server errors (internal_error, 5xx, not_stored), Lambda errors, throttles, concurrency"
        view  = "timeSeries", region = var.region, stat = "Sum", period = 60
        metrics = [
          local.emf["server_errors"],
          local.lambda["Errors"],
          local.lambda["Throttles"],
          concat(local.lambda["ConcurrentExecutions"], [{ stat = "Maximum" }]),
        ]
      }
    },
    {
      type = "metric", x = 12, y = 12, width = 12, height = 6
      properties = {
        title = "Lambda duration (ms)"
        view  = "timeSeries", region = var.region, period = 60
        metrics = [
          concat(local.lambda["Duration"], [{ stat = "p50", label = "p50" }]),
          concat(local.lambda["Duration"], [{ stat = "p99", label = "p99" }]),
          concat(local.lambda["Duration"], [{ stat = "Maximum", label = "max" }]),
        ]
      }
    },
    {
      type = "metric", x = 0, y = 18, width = 24, height = 6
      properties = {
        # IntegrationError counts every 4xx the function answers too ($connect
        # refuses with 400, 401, 403, 409 and 429 by design): shown, not alarmed on.
        title   = "API Gateway: connects, messages and errors (IntegrationError includes $connect's refusals)"
        view    = "timeSeries", region = var.region, stat = "Sum", period = 60
        metrics = [for name, metric in local.api : metric]
      }
    },
    {
      type = "metric", x = 0, y = 24, width = 24, height = 6
      properties = {
        title   = "Frames refused, by error code"
        view    = "timeSeries", region = var.region, stat = "Sum", period = 60
        metrics = [[{ expression = "SEARCH('{\"${var.metrics_namespace}\",Function,ErrorCode} MetricName=\"refused\" Function=\"${local.function_name}\"', 'Sum', 60)", id = "refused", label = "" }]]
      }
    },
    {
      # Moderation: actions taken (the Action dimension splits them in the
      # metrics console) and messages the word filter refused or masked.
      type = "metric", x = 0, y = 30, width = 24, height = 6
      properties = {
        title   = "Moderation: actions taken, messages filtered"
        view    = "timeSeries", region = var.region, stat = "Sum", period = 300
        metrics = [local.emf["moderation_actions"], local.emf["messages_filtered"]]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "chat" {
  dashboard_name = local.global_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}

# Alarm notifications, encrypted with the stack's own key (kms.tf): CloudWatch
# cannot use the AWS managed alias/aws/sns, so alarms could not publish.
resource "aws_sns_topic" "alarms" {
  name              = local.alarm_topic_name
  kms_master_key_id = aws_kms_key.alarms.arn
}

# Only this stack's alarms, in this account, may publish (aws:SourceAccount
# and aws:SourceArn, AWS Knowledge Center "cloudwatch-receive-sns-for-alarm-
# trigger"); the account's own identities keep what IAM grants them.
data "aws_iam_policy_document" "alarm_topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    dynamic "condition" {
      for_each = local.alarm_source_conditions
      content {
        test     = condition.value.test
        variable = condition.value.variable
        values   = condition.value.values
      }
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarm_topic.json
}

# E-mail subscriptions stay pending until the recipient confirms the message AWS sends.
resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  # name => what, namespace, metric, dimensions, threshold
  alarms = {
    lambda-errors = {
      description = "The chat function crashed, timed out or ran out of memory (it answers every other failure itself: see server-errors); see its logs."
      namespace   = "AWS/Lambda", metric = "Errors", dimensions = local.lambda_dimensions, threshold = 1
    }
    lambda-throttles = {
      description = "The chat function was throttled: the account's (or a reserved) concurrency is exhausted, and frames are being refused."
      namespace   = "AWS/Lambda", metric = "Throttles", dimensions = local.lambda_dimensions, threshold = 1
    }
    # The function answers every failure itself (never raises), so Lambda's
    # Errors sees only crashes and timeouts; its own metric sees the rest.
    server-errors = {
      description = "The chat function failed on the server's side: an unexpected error (clients got internal_error), a 5xx answer, or a message the table did not store (not_stored). Its log's summary lines with server_errors = 1 say which (status, code, reason)."
      namespace   = var.metrics_namespace, metric = "server_errors", dimensions = local.emf_dimensions, threshold = var.alarm_server_errors_threshold
    }
    failed-deliveries = {
      description = "Posts to @connections failed after retries (not counting clients that left): messages did not reach live members."
      namespace   = var.metrics_namespace, metric = "failed", dimensions = local.emf_dimensions, threshold = var.alarm_failed_deliveries_threshold
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "chat" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = "Sum"
  period              = local.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  # No data means nothing happened: no errors, no traffic.
  treat_missing_data = "notBreaching"
  alarm_actions      = [aws_sns_topic.alarms.arn]
  ok_actions         = [aws_sns_topic.alarms.arn]
}
