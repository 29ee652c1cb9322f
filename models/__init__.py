"""Vision models: each analyzer loads real weights that a registry package ships and turns
decoded frames into detections in Rekognition's terms."""
