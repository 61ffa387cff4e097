//! How long loading all 70,000 images takes: from the .gz files to bytes,
//! and on to f32 tensors. Skips with a note when the dataset is not installed.

use atelier::data::{self, FashionMnist};
use criterion::{criterion_group, criterion_main, Criterion};

fn load(c: &mut Criterion) {
    let Ok(source) = data::discover(None) else {
        eprintln!("skipped: Fashion-MNIST not found (see `atelier data where`)");
        return;
    };
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function("70k images: files to bytes", |b| {
        b.iter(|| FashionMnist::load(&source).unwrap());
    });
    group.bench_function("70k images: files to tensors", |b| {
        b.iter(|| {
            let dataset = FashionMnist::load(&source).unwrap();
            let train = dataset.train.images_tensor(tch::Device::Cpu);
            let test = dataset.test.images_tensor(tch::Device::Cpu);
            (train, test, dataset.train.labels_tensor(tch::Device::Cpu))
        });
    });
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
