# Delivery workers for big rooms (docs/internals.md, "Delivery jobs"): a
# message to a room above delivery_threshold members is split into one job per
# shard of the room index, sent to this queue, and delivered by the same
# function through the event source mapping below, paced so that all workers
# together post at most delivery_post_rate a second.

locals {
  delivery_queue_name = "${var.name_prefix}-delivery"
  # The alarms below, named like local.alarms' so the alarm topic accepts them.
  delivery_alarm_names = ["delivery-queue-age", "delivery-dead-letters"]
}

resource "aws_sqs_queue" "delivery_dead_letters" {
  name                      = "${local.delivery_queue_name}-dead-letters"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600 # 14 days, SQS's most, to look at what failed
}

resource "aws_sqs_queue" "delivery" {
  name                    = local.delivery_queue_name
  sqs_managed_sse_enabled = true
  # A job older than the room's messages' usefulness is dropped: members catch
  # up from history (it is in the table).
  message_retention_seconds = 3600
  # At least the function's timeout (AWS: 6 times it for event source mappings),
  # so a job is not delivered twice while a worker still runs it.
  visibility_timeout_seconds = 6 * var.lambda_timeout_seconds
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.delivery_dead_letters.arn
    maxReceiveCount     = var.delivery_max_receives
  })
}

resource "aws_lambda_event_source_mapping" "delivery" {
  event_source_arn = aws_sqs_queue.delivery.arn
  function_name    = aws_lambda_function.chat.arn
  # One job is one room shard (up to 12,500 posts of a 100,000-member room):
  # a worker takes one job at a time, so the workers spread over shards.
  batch_size              = 1
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.delivery_max_concurrency
  }

  depends_on = [aws_iam_role_policy.lambda]
}

resource "aws_cloudwatch_metric_alarm" "delivery_queue_age" {
  alarm_name          = "${var.name_prefix}-delivery-queue-age"
  alarm_description   = "Big rooms' messages wait in the delivery queue: the workers are behind (throttled, or every worker busy); see the function's delivery log lines."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.delivery.name }
  statistic           = "Maximum"
  period              = local.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = var.delivery_alarm_age_seconds
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "delivery_dead_letters" {
  alarm_name          = "${var.name_prefix}-delivery-dead-letters"
  alarm_description   = "A big room's delivery failed after its retries: its members missed a message (it is in history for catch-up); see the dead-letter queue and the function's logs."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.delivery_dead_letters.name }
  statistic           = "Maximum"
  period              = local.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
