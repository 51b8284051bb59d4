use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn names(dir: &Path) -> io::Result<Vec<String>> {
    let mut v: Vec<String> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<_>>()?;
    v.sort();
    Ok(v)
}

#[test]
fn replace_and_create_leave_no_temporary_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("x.png");
    create(&path, b"one", MODE_PUBLIC)?;
    assert!(matches!(
        create(&path, b"two", MODE_PUBLIC),
        Err(FileError::Exists { .. })
    ));
    assert_eq!(fs::read(&path)?, b"one");
    replace(&path, b"three", MODE_PUBLIC)?;
    assert_eq!(fs::read(&path)?, b"three");
    assert_eq!(names(dir.path())?, ["x.png"]);
    Ok(())
}

#[test]
fn a_batch_committed_unsynced_is_complete_after_sync_filesystem() -> TestResult {
    let dir = tempfile::tempdir()?;
    for i in 0..20 {
        let mut f = AtomicFile::new(&dir.path().join(format!("{i}.png")), MODE_PUBLIC)?;
        f.write_all(format!("image {i}").as_bytes())?;
        f.commit_replace_unsynced()?;
    }
    sync_filesystem(dir.path())?;
    let mut expected: Vec<String> = (0..20).map(|i| format!("{i}.png")).collect();
    expected.sort();
    assert_eq!(names(dir.path())?, expected, "no temporary file is left");
    assert_eq!(fs::read(dir.path().join("7.png"))?, b"image 7");
    Ok(())
}

#[cfg(unix)]
#[test]
fn secret_mode_is_applied_at_creation() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("k.key");
    create(&path, b"s", MODE_SECRET)?;
    assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    replace(&path, b"t", MODE_SECRET)?;
    assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    Ok(())
}

#[cfg(unix)]
#[test]
fn planted_symlinks_are_never_followed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let victim = dir.path().join("victim");
    fs::write(&victim, b"precious")?;
    let link = dir.path().join("out");
    std::os::unix::fs::symlink(&victim, &link)?;
    // create refuses, replace replaces the link itself.
    assert!(matches!(
        create(&link, b"evil", MODE_PUBLIC),
        Err(FileError::Exists { .. })
    ));
    assert!(matches!(
        open_or_create(&link, MODE_PUBLIC),
        Err(FileError::Symlink { .. })
    ));
    assert!(matches!(
        read_bounded_nofollow(&link, 100, "x"),
        Err(FileError::Symlink { .. })
    ));
    replace(&link, b"new", MODE_PUBLIC)?;
    assert_eq!(fs::read(&victim)?, b"precious");
    assert!(!fs::symlink_metadata(&link)?.file_type().is_symlink());
    assert_eq!(fs::read(&link)?, b"new");
    // A dangling link is refused by create_new too.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling)?;
    assert!(create(&dangling, b"x", MODE_PUBLIC).is_err());
    assert!(!dir.path().join("nowhere").exists());
    Ok(())
}

#[test]
fn temporary_names_are_unpredictable_and_recognized() -> TestResult {
    let a = temp_name(OsStr::new("0.png"))?;
    let b = temp_name(OsStr::new("0.png"))?;
    assert_ne!(a, b);
    assert!(a.starts_with(".0.png.hallmark-tmp-"), "{a}");
    assert!(is_temp_name(&a));
    for other in [
        "0.png",
        ".0.png.tmp",
        ".0.png.hallmark-tmp-",
        ".x.hallmark-tmp-0123456789abcdeF",
        "x.hallmark-tmp-0123456789abcdef",
        ".x.hallmark-tmp-0123456789abcdef0",
    ] {
        assert!(!is_temp_name(other), "{other}");
    }
    let long = "n".repeat(250);
    let t = temp_name(OsStr::new(&long))?;
    assert!(t.len() <= 255 && is_temp_name(&t));
    Ok(())
}

#[test]
fn stale_temporary_files_are_cleaned_but_live_ones_kept() -> TestResult {
    let dir = tempfile::tempdir()?;
    let old = SystemTime::now() - STALE_AFTER * 2;
    // Left by a killed writer: unlocked and old.
    let stale = dir.path().join(".a.png.hallmark-tmp-0123456789abcdef");
    File::create(&stale)?.set_modified(old)?;
    // Old but held by a live writer.
    let live = AtomicFile::new(&dir.path().join("b.png"), MODE_PUBLIC)?;
    File::options()
        .write(true)
        .open(live.temp_path())?
        .set_modified(old)?;
    // Recent: may be between creation and lock.
    let fresh = dir.path().join(".c.png.hallmark-tmp-0123456789abcdef");
    File::create(&fresh)?;
    // Not ours.
    let other = dir.path().join(".d.png.tmp");
    File::create(&other)?.set_modified(old)?;
    assert_eq!(clean_stale_temps(dir.path()), 1);
    assert!(!stale.exists());
    assert!(live.temp_path().exists() && fresh.exists() && other.exists());
    Ok(())
}

#[test]
fn dropped_atomic_file_leaves_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut f = AtomicFile::new(&dir.path().join("out.csv"), MODE_PUBLIC)?;
    f.write_all(b"half")?;
    drop(f);
    assert!(names(dir.path())?.is_empty());
    Ok(())
}

#[test]
fn bounded_reads_refuse_larger_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t");
    fs::write(&path, b"12345")?;
    assert_eq!(read_bounded(&path, 5, "the file")?, b"12345");
    let e = read_bounded(&path, 4, "the trust store").map(|_| ());
    assert!(matches!(e, Err(FileError::TooLarge { max: 4, .. })));
    fs::write(&path, b"\xff")?;
    assert!(matches!(
        read_text_bounded(&path, 5, "the file"),
        Err(FileError::NotUtf8 { .. })
    ));
    Ok(())
}

#[test]
fn same_file_sees_through_paths() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = dir.path().join("a");
    fs::write(&a, b"x")?;
    fs::create_dir(dir.path().join("sub"))?;
    let b = dir.path().join("sub/../a");
    assert!(same_file(&a, &b));
    assert!(!same_file(&a, &dir.path().join("missing")));
    Ok(())
}
