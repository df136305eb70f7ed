//! The trail buckets: which exist, who owns them, in which region — and the bucket-level
//! operations ListBuckets, HeadBucket and GetBucketLocation.
//!
//! A bucket exists when a trail names it (CloudTrail writes only into existing buckets, so a
//! trail's bucket stands for one) or when its directory is in the bucket folder. Choices, as
//! keytrail has no bucket API: the bucket belongs to the account of each trail that writes
//! into it (as a bucket policy granting those accounts would let them read it); one no trail
//! names any more belongs to the accounts whose `AWSLogs/<account>/` it holds, else to the
//! default account. Its region is its first trail's home region, else the default region.

use std::path::PathBuf;
use std::time::SystemTime;

use keytrail_audit::delivery::folder::{is_bucket_name, BucketFolder};
use keytrail_audit::trails::Trails;

/// One bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Its name.
    pub name: String,
    /// Its directory (it may not exist yet: a trail that delivered nothing).
    pub dir: PathBuf,
    /// The accounts it belongs to.
    pub owners: Vec<String>,
    /// Its region.
    pub region: String,
    /// Its `CreationDate`: the directory's, or now.
    pub created: SystemTime,
}

/// The defaults for buckets no trail names.
#[derive(Clone, Debug)]
pub struct Defaults {
    /// `--account-id`.
    pub account: String,
    /// `--region`.
    pub region: String,
}

/// The bucket named `name`, if it exists.
pub fn find(folder: &BucketFolder, trails: &Trails, defaults: &Defaults, name: &str) -> Option<Bucket> {
    let dir = folder.bucket_dir(name)?;
    let named = trails.filter(|t| t.s3_bucket_name == name);
    let on_disk = folder.existing_bucket_dir(name).is_some();
    if !on_disk && dir.exists() {
        // A symbolic link (or a file) where a bucket would be: no bucket.
        return None;
    }
    if named.is_empty() && !on_disk {
        return None;
    }
    let mut owners: Vec<String> = named.iter().map(|t| t.account_id.clone()).collect();
    owners.sort();
    owners.dedup();
    if owners.is_empty() {
        owners = accounts_in(&dir);
    }
    if owners.is_empty() {
        owners.push(defaults.account.clone());
    }
    let region = named.first().map_or_else(|| defaults.region.clone(), |t| t.home_region.clone());
    let created = std::fs::metadata(&dir).and_then(|m| m.modified()).unwrap_or_else(|_| SystemTime::now());
    Some(Bucket { name: name.to_string(), dir, owners, region, created })
}

/// Every bucket, by name.
pub fn all(folder: &BucketFolder, trails: &Trails, defaults: &Defaults) -> Vec<Bucket> {
    let mut names: Vec<String> = folder.buckets().into_iter().map(|(n, _)| n).collect();
    trails.for_each(|t| names.push(t.s3_bucket_name.clone()));
    names.retain(|n| is_bucket_name(n));
    names.sort();
    names.dedup();
    names.iter().filter_map(|n| find(folder, trails, defaults, n)).collect()
}

/// The 12-digit account directories under an `AWSLogs` directory within the bucket's first
/// levels (under any key prefix of up to three segments).
fn accounts_in(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut level = vec![dir.to_path_buf()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for d in level {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "AWSLogs" {
                    for a in std::fs::read_dir(e.path()).into_iter().flatten().flatten() {
                        let account = a.file_name().to_string_lossy().into_owned();
                        if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
                            found.push(account);
                        }
                    }
                } else if !name.starts_with('.') {
                    next.push(e.path());
                }
            }
        }
        level = next;
    }
    found.sort();
    found.dedup();
    found
}

/// A stable canonical user id for an account (S3's `Owner/ID`: 64 hex characters).
pub fn canonical_id(account: &str) -> String {
    hex::encode(id_bytes(account))
}

fn id_bytes(account: &str) -> [u8; 32] {
    use md5::Digest;
    // Two MD5 halves make 32 bytes; any stable derivation will do, it is only an id.
    let a = md5::Md5::digest(format!("keytrail-canonical-user:{account}").as_bytes());
    let b = md5::Md5::digest(format!("{account}:keytrail-canonical-user").as_bytes());
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&a);
    out[16..].copy_from_slice(&b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use keytrail_audit::trails::Trail;

    #[test]
    fn buckets_come_from_trails_and_the_folder() {
        let root = std::env::temp_dir().join(format!("keytrail-buckets-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join("old-logs/team/AWSLogs/444455556666/CloudTrail")).unwrap();
        std::fs::create_dir_all(root.join("Not_A_Bucket")).unwrap();
        let folder = BucketFolder::new(root.clone());
        let trails = Trails::new();
        trails.insert_new(Trail::new("t1", "111122223333", "eu-west-1", "trail-logs")).unwrap();
        let defaults = Defaults { account: "999999999999".into(), region: "us-east-1".into() };
        let all = all(&folder, &trails, &defaults);
        let names: Vec<&str> = all.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["old-logs", "trail-logs"]);
        assert_eq!(all[0].owners, ["444455556666"]);
        assert_eq!((all[1].owners.as_slice(), all[1].region.as_str()), (&["111122223333".to_string()][..], "eu-west-1"));
        assert!(find(&folder, &trails, &defaults, "missing").is_none());
        assert_eq!(canonical_id("111122223333").len(), 64);
        std::fs::remove_dir_all(root).unwrap();
    }
}
