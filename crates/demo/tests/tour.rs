//! The tour through the public API: every story of LIFECYCLE.md on both providers, each row
//! as the lifecycle says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tpe_demo::DemoProvider;
use tpe_demo::tour::{Story, Verdict, run_tour};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_story_on_every_bank_is_as_the_lifecycle_says() {
    let dir = std::env::temp_dir().join(format!("tpe-demo-tour-test-{}", std::process::id()));
    let report = run_tour(&dir).await.unwrap();
    println!("{}", report.table());
    assert_eq!(
        report.rows.len(),
        Story::ALL.len() * DemoProvider::ALL.len()
    );
    // Every story plays on every provider, each row as LIFECYCLE.md says; only Monetico has
    // stories it cannot express (no pending verdict, no status query), Lyra one (a mistyped
    // card is not notified), and the Stripe-like PSP and Worldline offer no instalments.
    let no_instalments = [DemoProvider::StripeLike, DemoProvider::Worldline];
    for r in &report.rows {
        let not_expressible = matches!(r.verdict, Verdict::NotExpressible(_));
        let may_lack = (r.provider == DemoProvider::Monetico && !r.story.in_instalments())
            || (r.provider == DemoProvider::Lyra && r.story == Story::TwoTriesSamePage)
            || (no_instalments.contains(&r.provider) && r.story.in_instalments());
        assert!(
            r.verdict == Verdict::Ok || (not_expressible && may_lack),
            "{} / {}: {:?}",
            r.story.label(),
            r.provider.label(),
            r.verdict
        );
    }
    let monetico_ok = report
        .rows
        .iter()
        .filter(|r| r.provider == DemoProvider::Monetico && r.verdict == Verdict::Ok)
        .count();
    assert_eq!(monetico_ok, Story::ALL.len() - 4);
    let lyra_ok = report
        .rows
        .iter()
        .filter(|r| r.provider == DemoProvider::Lyra && r.verdict == Verdict::Ok)
        .count();
    assert_eq!(lyra_ok, Story::ALL.len() - 1);
    // Both stories in instalments on each bank that offers them.
    let in_instalments_ok = report
        .rows
        .iter()
        .filter(|r| r.story.in_instalments() && r.verdict == Verdict::Ok)
        .count();
    assert_eq!(in_instalments_ok, 2 * 3);
    assert!(report.all_ok());
    for p in DemoProvider::ALL {
        assert_eq!(
            report.rows.iter().filter(|r| r.provider == p).count(),
            Story::ALL.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
