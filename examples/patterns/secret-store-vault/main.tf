# Hand each new password to HashiCorp Vault in the same apply.
#
# When a rotation is due, the plan marks thingspace_password_rotation.reporting.password as "known after apply", so
# Terraform also plans an update of the Vault secret that depends on it. The apply rotates first, then writes the
# new password to Vault: consumers that read Vault never see a password ThingSpace no longer accepts for long.

terraform {
  required_version = ">= 1.11"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
    vault = {
      source = "hashicorp/vault"
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

resource "vault_kv_secret_v2" "reporting" {
  mount = "secret"
  name  = "thingspace/svc-reporting"
  data_json = jsonencode({
    username   = thingspace_password_rotation.reporting.username
    password   = thingspace_password_rotation.reporting.password
    rotated_at = thingspace_password_rotation.reporting.rotated_at
  })
}
