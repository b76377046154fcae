# Terraform 1.11 or later: current_passwords_wo is a write-only argument. Copied alone, this file is a whole configuration; the provider reads its credentials from the environment (see examples/provider/provider.tf).
terraform {
  required_version = ">= 1.11"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
  }
}

# The two users' passwords before Terraform manages them, keyed by user name. As an ephemeral variable (Terraform
# 1.10+) they are never written to the plan or the state. Supply them through the TF_VAR_current_passwords
# environment variable, for example TF_VAR_current_passwords='{"svc-api-blue":"...","svc-api-green":"..."}'.
variable "current_passwords" {
  description = "Each ThingSpace user's password now, used to log in for its first rotation."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
}

resource "thingspace_alternating_password_rotation" "example" {
  # Two API users of the same ThingSpace account that take turns.
  usernames = ["svc-api-blue", "svc-api-green"]

  # Write-only (Terraform 1.11+): used to log in for the first rotation of each user and never stored. Change
  # current_passwords_wo_version to log in with them again (a re-seed).
  current_passwords_wo         = var.current_passwords
  current_passwords_wo_version = 1

  # Each rotation resets the standby user; its password then stays valid for one more period as the standby.
  rotation_period = "45d"
}

# Consumers use active_username and active_password (sensitive). The previous pair, standby_username and
# standby_password, keeps working until the next rotation, so consumers have a whole period to pick up the new one.
