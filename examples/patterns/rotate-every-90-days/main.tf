# Rotate a ThingSpace user's password every 90 days.
#
# rotation_period sets rotate_after to rotated_at + 90 days after each rotation. The first plan after that time
# rotates once and moves rotate_after on by another 90 days. Nothing happens between Terraform runs, so schedule
# a run (for example a weekly CI job) to pick up due rotations.
#
# This pattern works on every supported Terraform (1.6 and later) because it seeds with current_password, which is
# stored in state. After the first rotation that stored value is an old, no longer valid password; the state's
# `password` attribute holds the live one either way, so keep the state in an encrypted, access-controlled backend.
# On Terraform 1.11 and later prefer current_password_wo (see the resource example).

terraform {
  required_version = ">= 1.6"

  required_providers {
    thingspace = {
      source = "verizon/thingspace"
    }
  }
}

variable "seed_password" {
  description = "The user's password before Terraform manages it (TF_VAR_seed_password)."
  type        = string
  sensitive   = true
}

resource "thingspace_password_rotation" "billing" {
  username         = "svc-billing"
  current_password = var.seed_password
  rotation_period  = "90d"
}

output "next_rotation_after" {
  description = "The first plan after this time rotates the password."
  value       = thingspace_password_rotation.billing.rotate_after
}
