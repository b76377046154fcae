# One department: its ThingSpace API user's rotation and the secret path it is delivered to. A module of its own, so
# that within one apply a failure of another department's rotation cannot hold back this department's secret (see
# ../README.md).

terraform {
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

variable "department" {
  type = string
}

variable "username" {
  type = string
}

variable "seed" {
  type      = string
  sensitive = true
  ephemeral = true
  default   = null
}

variable "seed_version" {
  type    = number
  default = 1
}

resource "thingspace_password_rotation" "this" {
  username                    = var.username
  current_password_wo         = var.seed
  current_password_wo_version = var.seed_version
  rotation_period             = "83d"
  max_password_age            = "90d"
}

resource "aws_secretsmanager_secret" "this" {
  name        = "thingspace/${var.department}/${var.username}"
  description = "ThingSpace M2M credentials of the ${var.department} department, rotated by Terraform."
}

resource "aws_secretsmanager_secret_version" "this" {
  secret_id = aws_secretsmanager_secret.this.id
  secret_string = jsonencode({
    username = thingspace_password_rotation.this.username
    password = thingspace_password_rotation.this.password
  })
}

output "status" {
  value = {
    user                  = thingspace_password_rotation.this.username
    rotated_at            = thingspace_password_rotation.this.rotated_at
    verified_at           = thingspace_password_rotation.this.verified_at
    password_age_deadline = thingspace_password_rotation.this.password_age_deadline
    blocked_reason        = thingspace_password_rotation.this.blocked_reason
  }
}
