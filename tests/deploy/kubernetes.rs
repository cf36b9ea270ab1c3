//! `deploy/kubernetes`: every manifest parsed, and the fields that must agree with each other, with the
//! image and with the service checked (probes, confinement, volumes, ConfigMap keys, ports, the overlay).

use std::collections::{BTreeMap, BTreeSet};

use crate::support::deploy_files::{files_in, manifest, postgram_check, strings};
use crate::support::monitoring::repo_file;
use crate::support::monitoring_files::yaml;

const BASE: &str = "deploy/kubernetes/base";
const OVERLAY: &str = "deploy/kubernetes/overlays/postgres-state";

/// The base's resources by kind.
fn base_resources() -> BTreeMap<String, yaml_serde::Value> {
    let folder = repo_file(BASE);
    let kustomization = manifest(&folder.join("kustomization.yaml"));
    strings(&kustomization["resources"])
        .iter()
        .map(|file| {
            let resource = manifest(&folder.join(file));
            (resource["kind"].as_str().unwrap().to_owned(), resource)
        })
        .collect()
}

#[test]
fn the_kustomizations_list_every_file_of_their_folder() {
    for folder in [BASE, OVERLAY] {
        let folder = repo_file(folder);
        let kustomization = manifest(&folder.join("kustomization.yaml"));
        let mut listed = BTreeSet::from(["kustomization.yaml".to_owned()]);
        listed.extend(strings(&kustomization["resources"]));
        for generator in kustomization["configMapGenerator"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            listed.extend(strings(&generator["files"]));
        }
        for patch in kustomization["patches"].as_sequence().into_iter().flatten() {
            listed.insert(patch["path"].as_str().unwrap().to_owned());
        }
        listed.retain(|f| !f.starts_with(".."));
        assert_eq!(listed, files_in(&folder), "{}", folder.display());
    }
}

#[test]
fn the_kubernetes_deployment_is_probed_confined_and_mounted_consistently() {
    let resources = base_resources();
    let pod = &resources["Deployment"]["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["ports"][0]["name"], "http");
    assert_eq!(container["ports"][0]["containerPort"], 9750);
    for (probe, path) in [
        ("livenessProbe", "/-/healthy"),
        ("readinessProbe", "/-/ready"),
    ] {
        assert_eq!(container[probe]["httpGet"]["path"], path, "{probe}");
        assert_eq!(container[probe]["httpGet"]["port"], "http", "{probe}");
    }
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["runAsUser"], 10001,
        "the image's user"
    );
    let confined = &container["securityContext"];
    assert_eq!(confined["readOnlyRootFilesystem"], true);
    assert_eq!(confined["allowPrivilegeEscalation"], false);
    for (kind, resource) in [
        ("requests", "cpu"),
        ("requests", "memory"),
        ("limits", "memory"),
    ] {
        assert!(
            container["resources"][kind][resource].is_string(),
            "{kind}.{resource}"
        );
    }

    let volumes: BTreeMap<_, _> = pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_owned(), v))
        .collect();
    let mounts: BTreeMap<_, _> = container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["mountPath"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        volumes.keys().collect::<Vec<_>>(),
        mounts.keys().collect::<Vec<_>>()
    );
    // The image keeps SQLite state in /var/lib/postgram ($POSTGRAM_STATE).
    assert_eq!(mounts["state"], "/var/lib/postgram");
    assert_eq!(
        volumes["state"]["persistentVolumeClaim"]["claimName"],
        resources["PersistentVolumeClaim"]["metadata"]["name"]
    );

    let kustomization = manifest(&repo_file(BASE).join("kustomization.yaml"));
    let generator = &kustomization["configMapGenerator"][0];
    assert_eq!(volumes["config"]["configMap"]["name"], generator["name"]);
    let config_path = format!("{}/postgram.yaml", mounts["config"]);
    assert_eq!(
        strings(&container["args"]),
        ["run", "--config", &config_path]
    );
    let keys: BTreeSet<_> = strings(&generator["files"]).into_iter().collect();
    let config = yaml(&format!("{BASE}/postgram.yaml"));
    let mut wanted = BTreeSet::from(["postgram.yaml".to_owned()]);
    for (_, file) in config["catalog"].as_mapping().unwrap() {
        wanted.insert(file.as_str().unwrap().to_owned());
    }
    assert_eq!(keys, wanted);

    assert_eq!(
        container["envFrom"][0]["secretRef"]["name"],
        resources["Secret"]["metadata"]["name"]
    );
    let service = &resources["Service"]["spec"];
    assert_eq!(service["ports"][0]["port"], 9750);
    assert_eq!(service["ports"][0]["targetPort"], "http");
    assert_eq!(
        service["selector"],
        resources["Deployment"]["spec"]["template"]["metadata"]["labels"]
    );
}

#[test]
fn the_kubernetes_config_passes_check_with_the_secrets_values() {
    let secret = &base_resources()["Secret"]["stringData"];
    let env = secret
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_owned(),
                v.as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (ok, output) = postgram_check(&format!("{BASE}/postgram.yaml"), &env);
    assert!(ok, "{output}");
}

#[test]
fn the_kubernetes_catalogues_are_the_shipped_ones() {
    for file in ["views.yaml", "actions.yaml", "charts.yaml"] {
        let copy = std::fs::read_to_string(repo_file(BASE).join(file)).unwrap();
        let shipped = std::fs::read_to_string(repo_file(file)).unwrap();
        assert!(copy == shipped, "{BASE}/{file} differs from {file}");
    }
}

#[test]
fn the_postgres_state_overlay_swaps_the_volume_for_a_secret() {
    let folder = repo_file(OVERLAY);
    let kustomization = manifest(&folder.join("kustomization.yaml"));
    assert!(strings(&kustomization["resources"]).contains(&"../../base".to_owned()));
    let base = base_resources();
    let patches: BTreeMap<_, _> = kustomization["patches"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            let patch = manifest(&folder.join(p["path"].as_str().unwrap()));
            (patch["kind"].as_str().unwrap().to_owned(), patch)
        })
        .collect();

    let claim = &patches["PersistentVolumeClaim"];
    assert_eq!(claim["$patch"], "delete");
    assert_eq!(
        claim["metadata"]["name"],
        base["PersistentVolumeClaim"]["metadata"]["name"]
    );

    let deployment = &patches["Deployment"];
    assert_eq!(
        deployment["metadata"]["name"],
        base["Deployment"]["metadata"]["name"]
    );
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let state = container["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "POSTGRAM_STATE")
        .expect("POSTGRAM_STATE");
    let reference = &state["valueFrom"]["secretKeyRef"];
    let secret = manifest(&folder.join("secret.yaml"));
    assert_eq!(reference["name"], secret["metadata"]["name"]);
    let key = reference["key"].as_str().unwrap();
    assert!(
        secret["stringData"][key]
            .as_str()
            .unwrap()
            .starts_with("postgres://")
    );
    assert_eq!(pod["volumes"][0]["name"], "state");
    assert_eq!(pod["volumes"][0]["$patch"], "delete");
    assert_eq!(
        container["volumeMounts"][0]["mountPath"],
        "/var/lib/postgram"
    );
    assert_eq!(container["volumeMounts"][0]["$patch"], "delete");
}
