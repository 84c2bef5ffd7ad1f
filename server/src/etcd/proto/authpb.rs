//! etcd's `authpb` package: users, roles and permissions.

message! {
    /// Options of a new user.
    pub struct UserAddOptions = "authpb.UserAddOptions" {
        1 => no_password: bool,
    }
}

message! {
    /// A user as etcd stores it.
    pub struct User = "authpb.User" {
        1 => name: bytes,
        2 => password: bytes,
        3 => roles: repeated_string,
        4 => options: message<UserAddOptions>,
    }
}

proto_enum! {
    /// What a permission allows.
    pub enum PermissionType = "authpb.Permission_Type" {
        Read = 0 => "READ",
        Write = 1 => "WRITE",
        Readwrite = 2 => "READWRITE",
    }
}

message! {
    /// Access to a key, a range or a prefix.
    pub struct Permission = "authpb.Permission" {
        1 => perm_type: enumeration<PermissionType> as "permType",
        2 => key: bytes,
        3 => range_end: bytes,
    }
}

message! {
    /// A role as etcd stores it.
    pub struct Role = "authpb.Role" {
        1 => name: bytes,
        2 => key_permission: repeated_message<Permission> as "keyPermission",
    }
}
