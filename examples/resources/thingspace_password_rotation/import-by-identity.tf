terraform {
  required_version = ">= 1.12"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
  }
}

# Terraform 1.12 or later (import by identity; earlier versions say "Unsupported argument" for identity). A whole
# configuration: adopt the user by its resource identity, the user name. Like an import by ID, this
# makes no API call and stores no password; the next apply rotates the password to take it under management.
import {
  to = thingspace_password_rotation.example
  identity = {
    username = "svc-provisioning"
  }
}

# The password before Terraform manages it, used by the first rotation after the import (TF_VAR_current_password).
variable "current_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "thingspace_password_rotation" "example" {
  username                    = "svc-provisioning"
  current_password_wo         = var.current_password
  current_password_wo_version = 1
  rotation_period             = "90d"
}
