# Take an existing ThingSpace user under management with an import block (Terraform 1.5+).
#
# The import makes no API call and stores no password. Because the state then holds no password, the same apply
# rotates: it logs in once with current_password_wo, resets the password and stores the new one. The import block
# can stay after that (it does nothing once the resource is in state) or be removed.
# From the command line, `terraform import thingspace_password_rotation.legacy svc-legacy` does the same import.

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
  description = "svc-legacy's password today (TF_VAR_current_password)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

import {
  to = thingspace_password_rotation.legacy
  id = "svc-legacy"
}

resource "thingspace_password_rotation" "legacy" {
  username                    = "svc-legacy"
  current_password_wo         = var.current_password
  current_password_wo_version = 1
  rotation_period             = "90d"
}
