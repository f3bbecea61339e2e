# The connections table of docs/internals.md: one item per open WebSocket,
# found by connectionId on disconnect and by room (through room-index) for
# the fan-out Query.
resource "aws_dynamodb_table" "connections" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key (aws/dynamodb); a customer managed key adds $1/month and key administration for connection ids that live at most a few hours.
  #checkov:skip=CKV_AWS_28:Point-in-time recovery would keep 35 days of backups of names, rooms and connect times that live at most a few hours; it is a variable (connections_point_in_time_recovery), off by default.
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "connectionId"
  deletion_protection_enabled = var.table_deletion_protection

  attribute {
    name = "connectionId"
    type = "S"
  }

  # A room's shard ({room}#{k}, chat.room_shards.ROOM_SHARDS shards): a room of
  # 100,000 members spreads over partitions instead of one hot key.
  attribute {
    name = "roomShard"
    type = "S"
  }

  global_secondary_index {
    name            = local.room_index
    hash_key        = "roomShard"
    projection_type = "INCLUDE"
    # Expiry for the fan-out; names and connect times for the member list; the
    # name key's digest for $connect's check of who holds a name.
    non_key_attributes = ["expiresAt", "name", "connectedAt", "owner"]
  }

  # Connections whose $disconnect never arrived expire on their own.
  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  server_side_encryption {
    enabled = true
  }

  # Off by default: connections live hours, and backups would keep who was where for 35 days.
  point_in_time_recovery {
    enabled = var.connections_point_in_time_recovery
  }
}

# The messages table of docs/internals.md: every accepted message, per room in
# id (ULID, so time) order, plus one idempotency item per clientId; history is a
# Query on one room's partition.
resource "aws_dynamodb_table" "messages" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key (aws/dynamodb); a customer managed key adds $1/month and key administration, which a team can add by replacing server_side_encryption.
  name                        = local.messages_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "room"
  range_key                   = "id"
  deletion_protection_enabled = var.table_deletion_protection

  attribute {
    name = "room"
    type = "S"
  }

  attribute {
    name = "id"
    type = "S"
  }

  attribute {
    name = "changedAt"
    type = "N"
  }

  # The catch-up (docs/protocol.md, "changes"): a room's messages by the time
  # of their last change. Sparse: idempotency items have no changedAt.
  global_secondary_index {
    name            = local.changes_index
    hash_key        = "room"
    range_key       = "changedAt"
    projection_type = "ALL"
  }

  # Messages past MESSAGE_RETENTION_DAYS are deleted (late); reads skip them earlier.
  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  server_side_encryption {
    enabled = true
  }

  point_in_time_recovery {
    enabled = var.messages_point_in_time_recovery
  }
}
