# The import ID is the two ThingSpace user names joined with a comma, in the order of usernames. Import makes no API
# call and stores no password, so the next apply rotates both users (logging in with current_passwords_wo or
# current_passwords, which must hold a password for each) to take them under management.
terraform import thingspace_alternating_password_rotation.example svc-api-blue,svc-api-green
