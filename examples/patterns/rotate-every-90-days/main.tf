# Rotate a ThingSpace user's password at least every 90 days, unattended, for example from the CI pipelines in
# examples/ci/.
#
# rotation_period sets rotate_after to rotated_at + 83 days after each rotation. The first plan after that time
# rotates once and moves rotate_after on. Nothing happens between Terraform runs, so a password's real maximum age is
# rotation_period + rotation_jitter + the longest gap between runs + the longest wait for rotation_window: with the
# daily CI examples, 83 days + 1 day, well inside Verizon's 90. max_password_age makes that a promise: a plan that
# runs after password_age_deadline without rotating (held, blocked, or never scheduled) fails, naming the user.
#
# The seed is write-only (Terraform 1.11 and later): it is used for the first rotation and for a re-seed, and never
# stored. Later runs do not need TF_VAR_seed_password: unset or empty (a CI secret that was deleted expands to ""),
# the variable is null or "", both of which count as no seed, and each due rotation logs in with the password in
# state. The state holds that live password, so keep it in an encrypted, access-controlled backend that persists
# between runs.
#
# On Terraform 1.6 to 1.10, replace the two current_password_wo lines with `current_password = var.seed_password`
# and drop `ephemeral = true`: the seed is then stored in state, and every change of its value, including to "",
# counts as a re-seed, so keep the variable set to the same value on every run.

terraform {
  required_version = ">= 1.11"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
  }
}

variable "seed_password" {
  description = "The user's password before Terraform manages it, or after a change outside Terraform (TF_VAR_seed_password). Needed only for the first apply and for a re-seed."
  type        = string
  sensitive   = true
  ephemeral   = true
  default     = null
}

# Checks base_url and the client credentials with a token request at every plan, and never logs in as a user: an
# expired client secret fails a pull request's plan instead of the scheduled apply.
data "thingspace_connection" "check" {}

resource "thingspace_password_rotation" "billing" {
  username            = "svc-billing"
  current_password_wo = var.seed_password
  # Change this (for example to 2) together with TF_VAR_seed_password to re-seed.
  current_password_wo_version = 1
  rotation_period             = "83d"
  max_password_age            = "90d"
}

output "next_rotation_after" {
  description = "The first plan after this time rotates the password."
  value       = thingspace_password_rotation.billing.rotate_after
}

output "password_age_deadline" {
  description = "A plan after this time that does not rotate the password fails."
  value       = thingspace_password_rotation.billing.password_age_deadline
}
