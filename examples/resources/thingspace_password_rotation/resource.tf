# Terraform 1.11 or later: current_password_wo is a write-only argument. Copied alone, this file is a whole configuration; the provider reads its credentials from the environment (see examples/provider/provider.tf).
terraform {
  required_version = ">= 1.11"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
  }
}

# The user's password before Terraform manages it. As an ephemeral variable (Terraform 1.10+) it is never written
# to the plan or the state. Supply it through the TF_VAR_current_password environment variable.
variable "current_password" {
  description = "The ThingSpace user's password now, used to log in for the first rotation."
  type        = string
  sensitive   = true
  ephemeral   = true
}

resource "thingspace_password_rotation" "example" {
  username = "svc-provisioning"

  # Write-only (Terraform 1.11+): used to log in for the first rotation and never stored. Change
  # current_password_wo_version to log in with it again (a re-seed).
  current_password_wo         = var.current_password
  current_password_wo_version = 1

  # ThingSpace recommends a new password every 90 days.
  rotation_period = "90d"
}

# The new password is in thingspace_password_rotation.example.password (sensitive): pass it on to whatever logs in
# as this user, in the same apply.
