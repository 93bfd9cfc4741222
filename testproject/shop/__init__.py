"""The demo app: a small shop whose views model real request traffic."""
