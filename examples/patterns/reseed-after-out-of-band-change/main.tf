# Re-seed after the password was changed outside Terraform (for example reset in the ThingSpace portal).
#
# Terraform cannot notice such a change: the provider never logs in at plan or refresh, because every failed log-in
# counts toward ThingSpace's lock-out (5 in a row lock the user until Verizon support unlocks it). The next rotation
# would log in with the stale password in state and fail. To recover:
#   1. put the user's current password in TF_VAR_current_password (an ephemeral variable: never stored), and
#   2. change current_password_wo_version (here from 1 to 2).
# The next apply logs in once with current_password_wo, rotates, and stores the new password. Later runs do not
# need the variable until the next re-seed.

terraform {
  required_version = ">= 1.11"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
  }
}

variable "current_password" {
  description = "The user's password now; needed for the first apply and whenever current_password_wo_version changes."
  type        = string
  sensitive   = true
  ephemeral   = true
  default     = null
}

resource "thingspace_password_rotation" "fleet" {
  username            = "svc-fleet"
  current_password_wo = var.current_password

  # Was 1; bumped to 2 after the out-of-band change so the next apply logs in with current_password_wo.
  current_password_wo_version = 2

  rotation_period = "90d"
}
