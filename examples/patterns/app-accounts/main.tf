# One ThingSpace API user behind an application's own accounts (the ThingSpace documentation's third credential
# strategy): the application's users sign in to the application, and the application alone calls ThingSpace, as one
# API user. Two ThingSpace users take turns so the application never holds a password that stopped working: it reads
# the current pair from Secrets Manager and re-reads it when ThingSpace refuses a log-in, without a restart.

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

resource "thingspace_alternating_password_rotation" "app" {
  usernames                    = ["svc-app-blue", "svc-app-green"]
  current_passwords_wo         = var.current_passwords
  current_passwords_wo_version = 1
  # Each password is active for 30 days, then still valid as the standby for 30 more: the application has a whole
  # period to pick up the new pair.
  rotation_period  = "30d"
  max_password_age = "62d"
}

resource "aws_secretsmanager_secret" "app" {
  name        = "thingspace/app-api"
  description = "The ThingSpace API user the application calls ThingSpace as, rotated by Terraform."
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    username = thingspace_alternating_password_rotation.app.active_username
    password = thingspace_alternating_password_rotation.app.active_password
  })
}
