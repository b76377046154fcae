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
# configuration: adopt both users by the resource identity, the pair of user names in the order of
# usernames. Like an import by ID, this makes no API call and stores no password; the next apply rotates both users.
import {
  to = thingspace_alternating_password_rotation.example
  identity = {
    usernames = ["svc-api-blue", "svc-api-green"]
  }
}

# The passwords before Terraform manages them, keyed by user name (TF_VAR_current_passwords).
variable "current_passwords" {
  type      = map(string)
  sensitive = true
  ephemeral = true
}

resource "thingspace_alternating_password_rotation" "example" {
  usernames                    = ["svc-api-blue", "svc-api-green"]
  current_passwords_wo         = var.current_passwords
  current_passwords_wo_version = 1
  rotation_period              = "45d"
}
