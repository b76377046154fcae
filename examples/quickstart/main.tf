# Quickstart: rotate the password of the emulator's demo user.
# scripts/quickstart.sh runs this against the embedded ThingSpace emulator; the provider reads base_url,
# client_id and client_secret from THINGSPACE_BASE_URL, THINGSPACE_CLIENT_ID and THINGSPACE_CLIENT_SECRET.

terraform {
  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
  }
}

provider "thingspace" {}

variable "current_password" {
  description = "The demo user's password before Terraform manages it."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "release" {
  description = "Change this to rotate the password now."
  type        = string
  default     = "v1"
}

resource "thingspace_password_rotation" "demo" {
  username                    = "demo-user"
  current_password_wo         = var.current_password
  current_password_wo_version = 1
  rotation_period             = "90d"
  triggers = {
    release = var.release
  }
}

output "rotated_at" {
  value = thingspace_password_rotation.demo.rotated_at
}

output "rotate_after" {
  value = thingspace_password_rotation.demo.rotate_after
}

output "password" {
  value     = thingspace_password_rotation.demo.password
  sensitive = true
}
