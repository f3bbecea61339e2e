# The alarm topic's key. SNS encrypts the topic at rest with it, and whoever
# publishes must be allowed to use it: CloudWatch alarms publish as
# cloudwatch.amazonaws.com, which the AWS managed key alias/aws/sns does not
# allow (its policy cannot be edited), so alarm actions on a topic under that
# key fail and no e-mail is ever sent (AWS Knowledge Center,
# "cloudwatch-configure-alarm-sns"). A customer managed key costs $1 a month
# (plus $0.03 per 10,000 requests: SNS reuses a data key for 5 minutes).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Exactly this stack's alarms (monitoring.tf), by ARN: a name pattern such as
  # "${var.name_prefix}-*" would also match the alarms of a stack whose prefix
  # extends this one ("chat" and "chat-dev").
  alarm_arns = [
    for name in concat(keys(local.alarms), local.delivery_alarm_names) :
    "arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:${var.name_prefix}-${name}"
  ]
  # What a service principal may do on behalf of these alarms only (the
  # confused deputy: another account's alarm naming this topic gets nothing).
  alarm_source_conditions = [
    { test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] },
    { test = "ArnLike", variable = "aws:SourceArn", values = local.alarm_arns },
  ]
  # The topic's ARN, written out: the topic names this key, so the key's
  # policy cannot refer to the topic resource.
  alarm_topic_name = "${var.name_prefix}-alarms"
  alarm_topic_arn  = "arn:${local.partition}:sns:${var.region}:${local.account_id}:${local.alarm_topic_name}"
}

data "aws_iam_policy_document" "alarms_key" {
  #checkov:skip=CKV_AWS_109:In a key policy Resource "*" is this key alone; the account keeps kms:* on it so that IAM policies decide who administers it, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_111:In a key policy Resource "*" is this key alone; beyond the account (through IAM) only CloudWatch may use it, for this stack's alarms.
  #checkov:skip=CKV_AWS_356:In a key policy Resource "*" means this one key, the only resource a key policy governs, so there is nothing narrower to name.
  # AWS's default key policy: the account (root) administers the key through
  # IAM. Without it the key could become unmanageable (AWS KMS developer
  # guide, "Default key policy").
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # What a publisher needs on an encrypted topic (Amazon SNS developer guide,
  # "Enable compatibility between event sources from AWS services and
  # encrypted topics"), for CloudWatch acting for this stack's alarms only,
  # and only for this topic (SNS names it in the encryption context).
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    dynamic "condition" {
      for_each = concat(local.alarm_source_conditions, [
        { test = "StringEquals", variable = "kms:EncryptionContext:aws:sns:topicArn", values = [local.alarm_topic_arn] },
      ])
      content {
        test     = condition.value.test
        variable = condition.value.variable
        values   = condition.value.values
      }
    }
  }
}

resource "aws_kms_key" "alarms" {
  description         = "Encrypts the ${var.name_prefix}-alarms SNS topic; CloudWatch may use it for this stack's alarms."
  enable_key_rotation = true
  # The key protects alarm notifications in flight, nothing kept: the shortest
  # waiting period lets `make destroy` and a redeploy under the same prefix
  # free it soon, and a key scheduled for deletion can still be cancelled.
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alarms_key.json
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/${var.name_prefix}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}
