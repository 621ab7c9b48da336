"""Self-supervised re-identification: an appearance network trained from unlabeled video and detector
boxes only (cross-input consistency, after Bastani, He & Madden, NeurIPS 2021), and its use in tracking.

* ``appearance``: ``load_appearance_model("imagenet" | path)`` -> ``AppearanceModel.embed(frame, boxes)``
* ``train``: ``train_reid(videos, out, params)`` writes a model file ``load_appearance_model`` reads
* ``plot``: ``write_loss_png(losses, path)``

No Django here, like the rest of ``tracking``.
"""
