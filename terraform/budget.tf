# An optional cost alert: AWS Budgets watches what this stack's resources cost
# (they all carry the Stack tag through default_tags) and mails the address when
# the month's cost is forecast to exceed the budget, and when it actually does.
resource "aws_budgets_budget" "stack" {
  count = var.budget_alert_email == null ? 0 : 1

  name         = "${var.name_prefix}-${var.region}-monthly"
  budget_type  = "COST"
  limit_amount = tostring(var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  # Promotional credits would hide real spend: an account living on credits
  # would never see the alert while the stack costs money. The other cost
  # types keep AWS Budgets' defaults.
  cost_types {
    include_credit = false
  }

  cost_filter {
    name   = "TagKeyValue"
    values = [join("", ["user:Stack$", var.name_prefix])]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = [var.budget_alert_email]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = [var.budget_alert_email]
  }
}
