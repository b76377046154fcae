# Drive rotation from a time_rotating resource (hashicorp/time).
#
# time_rotating stores a base time (its `id`) and rotation_rfc3339 = base + 90 days. It does nothing until a
# Terraform run refreshes it after rotation_rfc3339 has passed: then it drops itself from state and the plan
# creates a new one, with a new id and a rotation_rfc3339 90 days later, both known only after apply. Feeding that
# id into triggers turns each time_rotating replacement into exactly one password rotation.
#
# Why not `rotate_after = time_rotating.every_90_days.rotation_rfc3339`? rotate_after would follow time_rotating.
# Whenever its time passes, the refresh replaces time_rotating, so the plan sees rotate_after as unknown and the
# apply sees the new value, 90 days in the future: the time this resource waits for moves away just as it arrives,
# and the password is never rotated. (Only a `-refresh=false` plan, which skips the time_rotating check, would see
# the old, passed time.) If you want a time-based schedule without time_rotating, use rotation_period.

terraform {
  required_version = ">= 1.11"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
    time = {
      source = "hashicorp/time"
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

resource "time_rotating" "every_90_days" {
  rotation_days = 90
}

resource "thingspace_password_rotation" "telemetry" {
  username                    = "svc-telemetry"
  current_password_wo         = var.current_password
  current_password_wo_version = 1

  triggers = {
    rotation = time_rotating.every_90_days.id
  }
}
