//! The Auth service: users, roles, permissions, tokens.

use super::ResponseHeader;
use crate::etcd::proto::authpb::{Permission, UserAddOptions};

message! {
    /// Turns authentication on.
    pub struct AuthEnableRequest = "etcdserverpb.AuthEnableRequest" {}
}

message! {
    /// Turns authentication off.
    pub struct AuthDisableRequest = "etcdserverpb.AuthDisableRequest" {}
}

message! {
    /// Asks for a token.
    pub struct AuthenticateRequest = "etcdserverpb.AuthenticateRequest" {
        1 => name: string,
        2 => password: string,
    }
}

message! {
    /// Adds a user.
    pub struct AuthUserAddRequest = "etcdserverpb.AuthUserAddRequest" {
        1 => name: string,
        2 => password: string,
        3 => options: message<UserAddOptions>,
    }
}

message! {
    /// Asks for a user's roles.
    pub struct AuthUserGetRequest = "etcdserverpb.AuthUserGetRequest" {
        1 => name: string,
    }
}

message! {
    /// Deletes a user.
    pub struct AuthUserDeleteRequest = "etcdserverpb.AuthUserDeleteRequest" {
        1 => name: string,
    }
}

message! {
    /// Changes a user's password.
    pub struct AuthUserChangePasswordRequest = "etcdserverpb.AuthUserChangePasswordRequest" {
        1 => name: string,
        2 => password: string,
    }
}

message! {
    /// Grants a role to a user.
    pub struct AuthUserGrantRoleRequest = "etcdserverpb.AuthUserGrantRoleRequest" {
        1 => user: string,
        2 => role: string,
    }
}

message! {
    /// Revokes a role from a user.
    pub struct AuthUserRevokeRoleRequest = "etcdserverpb.AuthUserRevokeRoleRequest" {
        1 => name: string,
        2 => role: string,
    }
}

message! {
    /// Adds a role.
    pub struct AuthRoleAddRequest = "etcdserverpb.AuthRoleAddRequest" {
        1 => name: string,
    }
}

message! {
    /// Asks for a role's permissions.
    pub struct AuthRoleGetRequest = "etcdserverpb.AuthRoleGetRequest" {
        1 => role: string,
    }
}

message! {
    /// Lists the users.
    pub struct AuthUserListRequest = "etcdserverpb.AuthUserListRequest" {}
}

message! {
    /// Lists the roles.
    pub struct AuthRoleListRequest = "etcdserverpb.AuthRoleListRequest" {}
}

message! {
    /// Deletes a role.
    pub struct AuthRoleDeleteRequest = "etcdserverpb.AuthRoleDeleteRequest" {
        1 => role: string,
    }
}

message! {
    /// Grants a permission to a role.
    pub struct AuthRoleGrantPermissionRequest = "etcdserverpb.AuthRoleGrantPermissionRequest" {
        1 => name: string,
        2 => perm: message<Permission>,
    }
}

message! {
    /// Revokes a permission from a role.
    pub struct AuthRoleRevokePermissionRequest = "etcdserverpb.AuthRoleRevokePermissionRequest" {
        1 => role: string,
        2 => key: bytes,
        3 => range_end: bytes,
    }
}

message! {
    /// Result of enabling authentication.
    pub struct AuthEnableResponse = "etcdserverpb.AuthEnableResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// Result of disabling authentication.
    pub struct AuthDisableResponse = "etcdserverpb.AuthDisableResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// A token.
    pub struct AuthenticateResponse = "etcdserverpb.AuthenticateResponse" {
        1 => header: message<ResponseHeader>,
        2 => token: string,
    }
}

message! {
    /// Result of adding a user.
    pub struct AuthUserAddResponse = "etcdserverpb.AuthUserAddResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// A user's roles.
    pub struct AuthUserGetResponse = "etcdserverpb.AuthUserGetResponse" {
        1 => header: message<ResponseHeader>,
        2 => roles: repeated_string,
    }
}

message! {
    /// Result of deleting a user.
    pub struct AuthUserDeleteResponse = "etcdserverpb.AuthUserDeleteResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// Result of changing a password.
    pub struct AuthUserChangePasswordResponse = "etcdserverpb.AuthUserChangePasswordResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// Result of granting a role.
    pub struct AuthUserGrantRoleResponse = "etcdserverpb.AuthUserGrantRoleResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// Result of revoking a role.
    pub struct AuthUserRevokeRoleResponse = "etcdserverpb.AuthUserRevokeRoleResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// Result of adding a role.
    pub struct AuthRoleAddResponse = "etcdserverpb.AuthRoleAddResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// A role's permissions.
    pub struct AuthRoleGetResponse = "etcdserverpb.AuthRoleGetResponse" {
        1 => header: message<ResponseHeader>,
        2 => perm: repeated_message<Permission>,
    }
}

message! {
    /// The roles.
    pub struct AuthRoleListResponse = "etcdserverpb.AuthRoleListResponse" {
        1 => header: message<ResponseHeader>,
        2 => roles: repeated_string,
    }
}

message! {
    /// The users.
    pub struct AuthUserListResponse = "etcdserverpb.AuthUserListResponse" {
        1 => header: message<ResponseHeader>,
        2 => users: repeated_string,
    }
}

message! {
    /// Result of deleting a role.
    pub struct AuthRoleDeleteResponse = "etcdserverpb.AuthRoleDeleteResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// Result of granting a permission.
    pub struct AuthRoleGrantPermissionResponse = "etcdserverpb.AuthRoleGrantPermissionResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// Result of revoking a permission.
    pub struct AuthRoleRevokePermissionResponse = "etcdserverpb.AuthRoleRevokePermissionResponse" {
        1 => header: message<ResponseHeader>,
    }
}
