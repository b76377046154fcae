# Hand each new password to AWS Secrets Manager in the same apply.
#
# When a rotation is due, the plan marks thingspace_password_rotation.reporting.password as "known after apply", so
# Terraform also plans a new secret version that depends on it. The apply rotates first, then stores the new
# password as the secret's current version.

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

variable "current_password" {
  description = "The user's password now; needed for the first apply and for a re-seed."
  type        = string
  sensitive   = true
  ephemeral   = true
  default     = null
}

resource "thingspace_password_rotation" "reporting" {
  username                    = "svc-reporting"
  current_password_wo         = var.current_password
  current_password_wo_version = 1
  rotation_period             = "90d"
}

resource "aws_secretsmanager_secret" "reporting" {
  name        = "thingspace/svc-reporting"
  description = "ThingSpace M2M credentials for svc-reporting, rotated by Terraform."
}

resource "aws_secretsmanager_secret_version" "reporting" {
  secret_id = aws_secretsmanager_secret.reporting.id
  secret_string = jsonencode({
    username = thingspace_password_rotation.reporting.username
    password = thingspace_password_rotation.reporting.password
  })
}
