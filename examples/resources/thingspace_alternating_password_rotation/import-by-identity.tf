# Terraform 1.12 and later: adopt both users by the resource identity, the pair of user names in the order of
# usernames. Like an import by ID, this makes no API call and stores no password; the next apply rotates both users.
import {
  to = thingspace_alternating_password_rotation.example
  identity = {
    usernames = ["svc-api-blue", "svc-api-green"]
  }
}
