# Zero-downtime rotation with AWS Secrets Manager: consumers read one secret that always holds working credentials.
#
# Two ThingSpace users take turns. When a rotation is due, the plan marks active_username and active_password as
# "known after apply", so Terraform also plans a new secret version. The apply resets the standby user only, then
# stores it as the secret's current version. Consumers still holding the previous credentials (now the standby pair)
# keep logging in until the next rotation, one whole rotation_period later: each consumer only has to re-read the
# secret once per period, and a stale consumer never locks the user the provider just rotated.

terraform {
  required_version = ">= 1.11"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "current_passwords" {
  description = "Each user's password now, keyed by user name; needed for the first apply and for a re-seed."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
  default     = null
}

resource "thingspace_alternating_password_rotation" "reporting" {
  usernames                    = ["svc-reporting-blue", "svc-reporting-green"]
  current_passwords_wo         = var.current_passwords
  current_passwords_wo_version = 1
  # Each password is active for 30 days, then valid as the standby for 30 more.
  rotation_period = "30d"
}

resource "aws_secretsmanager_secret" "reporting" {
  name        = "thingspace/reporting"
  description = "ThingSpace M2M credentials for reporting, rotated by Terraform between two users."
}

resource "aws_secretsmanager_secret_version" "reporting" {
  secret_id = aws_secretsmanager_secret.reporting.id
  secret_string = jsonencode({
    username = thingspace_alternating_password_rotation.reporting.active_username
    password = thingspace_alternating_password_rotation.reporting.active_password
  })
}
