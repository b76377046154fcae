# Terraform 1.12 and later: adopt the user by its resource identity, the user name. Like an import by ID, this
# makes no API call and stores no password; the next apply rotates the password to take it under management.
import {
  to = thingspace_password_rotation.example
  identity = {
    username = "svc-provisioning"
  }
}
