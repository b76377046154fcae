# The import ID is the ThingSpace user name. Import makes no API call and stores no password, so the next
# apply rotates the password (logging in with current_password_wo or current_password) to take it under management.
terraform import thingspace_password_rotation.example svc-provisioning
